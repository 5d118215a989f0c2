using System.Text.RegularExpressions;
using Fabric.Contracts.Audit;
using Fabric.Contracts.Grains;
using Fabric.Contracts.Identity;
using Fabric.Contracts.Policy;
using Fabric.Contracts.Servers;
using Fabric.Silo.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Fabric.Silo.Apis;

/// <summary>
/// <c>GET /v1/posture</c> (issue 13 §5): what a security reviewer asks first, computed from the grains' state and the
/// recent audit, each finding with a severity, the objects it is about, a fix hint and the framework items it maps to
/// (OWASP Non-Human Identities Top 10, 2025; NIST SP 800-207 §2.1 tenets). Read-only; the audit part reads at most the
/// latest <see cref="MaxAuditRecords"/> records, so the report stays bounded however long the fabric has run.
/// </summary>
internal static partial class PostureApi
{
    public sealed record Finding(string Id, string Severity, string Title, IReadOnlyList<string> Objects, string Fix, IReadOnlyList<string> Frameworks);

    public sealed record PostureReport(DateTimeOffset GeneratedAt, int AuditRecordsRead, IReadOnlyList<Finding> Findings);

    public const int MaxAuditRecords = 10_000;

    private const string Overprivileged = "OWASP NHI5:2025 Overprivileged NHI";
    private const string LeastPrivilege = "NIST SP 800-207 §2.1 tenet 3 (per-session, least-privilege access)";
    private const string DynamicPolicy = "NIST SP 800-207 §2.1 tenet 4 (access by dynamic policy)";
    private const string AllSecured = "NIST SP 800-207 §2.1 tenet 2 (all communication secured)";
    private const string Monitor = "NIST SP 800-207 §2.1 tenet 5 (monitor the integrity of all assets)";
    private const string StrictAuth = "NIST SP 800-207 §2.1 tenet 6 (authentication strictly enforced before access)";
    private const string Improve = "NIST SP 800-207 §2.1 tenet 7 (collect state to improve security)";

    public static void MapPostureApi(this RouteGroupBuilder v1) =>
        v1.MapGet("/posture", GetPosture)
            .WithName(nameof(GetPosture))
            .WithSummary("Security findings over the fabric's state and recent audit, with fixes and OWASP NHI / NIST SP 800-207 mappings");

    [GeneratedRegex("(key|token|secret|passw|credential|auth)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex KeyLike();

    private static async Task<Results<Ok<PostureReport>, ValidationProblem>> GetPosture(
        string? unusedDays, string? secretMaxAgeDays, IGrainFactory grains, IOptions<TrustDomainOptions> trust, IOptions<SiloNodeOptions> silo, TimeProvider time)
    {
        if (!TryDays(unusedDays, 30, out var unused))
        {
            return ApiBody.Field("unusedDays", "unusedDays is a whole number of days from 1 to 3650");
        }
        if (!TryDays(secretMaxAgeDays, 90, out var secretAge))
        {
            return ApiBody.Field("secretMaxAgeDays", "secretMaxAgeDays is a whole number of days from 1 to 3650");
        }
        var now = time.GetUtcNow();
        var findings = new List<Finding>();
        var policies = await grains.Catalog().ListAsync();
        var catalog = new PolicyCatalog(0, policies.Select(p => p.Policy));

        // Default-deny coverage: policies that grant a whole trust domain, or every tool of a server.
        var broadSubjects = policies.Where(p => p.Policy.Subjects.Any(s => (s.EndsWith("/*", StringComparison.Ordinal) && s.Count(c => c == '/') <= 3) || s.EndsWith("/**", StringComparison.Ordinal))).Select(p => p.Policy.Name).ToList();
        Add(findings, "broad-subjects", "high", "Policies grant a whole trust domain (or a whole path tree) at once", broadSubjects,
            "Name the workloads (or a narrow path) the policy is for; every new identity in the domain gets these grants today.", Overprivileged, LeastPrivilege);
        var everyTool = policies.Where(p => p.Policy.Rules.Any(r => r is { Effect: PolicyEffect.Allow, IsEgress: false }
            && (r.Tools?.Contains("*") == true || PolicyEvaluator.IsWholeServer(r)))).Select(p => p.Policy.Name).ToList();
        Add(findings, "every-tool", "medium", "Policies allow every tool of a server ('*' or no tools named)", everyTool,
            "List the tools the agents need; a server that adds a tool grants it to them silently otherwise (the tool lock holds it only until approved).", Overprivileged, LeastPrivilege);

        // Servers: pinned upstream identity, tool lock drift, launched env that looks like a secret.
        var servers = new List<McpServerDefinition>();
        foreach (var name in await grains.ServerDirectory().ListAsync())
        {
            if (await grains.Server(name).GetAsync() is { } server)
            {
                servers.Add(server);
            }
        }
        Add(findings, "unpinned-upstream", "high", "Servers whose upstream identity is not pinned (Web PKI or plain loopback only)",
            servers.Where(s => !s.IsLaunched && s.Identity is null).Select(s => s.Name).ToList(),
            "Set identity to the upstream's SPIFFE ID, so the edge talks mTLS to exactly that workload.", "OWASP NHI4:2025 Insecure Authentication", AllSecured);
        var drifted = new List<string>();
        var lockOff = new List<string>();
        foreach (var server in servers)
        {
            if (server.ToolLock == ToolLockMode.Off)
            {
                lockOff.Add(server.Name);
                continue;
            }
            var view = await grains.ToolLock(server.Name).GetViewAsync();
            if (view.Held.Values.Any(h => h.Count > 0))
            {
                drifted.Add($"{server.Name} ({string.Join(", ", view.Held.Where(h => h.Value.Count > 0).SelectMany(h => h.Value).Order(StringComparer.Ordinal))})");
            }
        }
        Add(findings, "tool-drift", "high", "Servers with tool definitions held back: changed or new since the approval", drifted,
            "Review GET /v1/servers/{name}/tools (or fabric tools diff) and approve, or find out why the server changed.", "OWASP NHI3:2025 Vulnerable Third-Party NHI", Monitor);
        Add(findings, "tool-lock-off", "medium", "Servers without a tool lock: a changed tool definition reaches agents unreviewed", lockOff,
            "Set toolLock to trust-on-first-use or approve.", "OWASP NHI3:2025 Vulnerable Third-Party NHI", Monitor);
        Add(findings, "launch-env-secret", "high", "Launched servers whose environment declares something key-like",
            servers.Where(s => s.Launch is { } l && l.Env.Keys.Any(k => KeyLike().IsMatch(k))).Select(s => $"{s.Name} ({string.Join(", ", s.Launch!.Env.Keys.Where(k => KeyLike().IsMatch(k)))})").ToList(),
            "Remove the secret from the environment: let the edge splice it into the server's outbound calls (an egress target with a credential).", "OWASP NHI2:2025 Secret Leakage", StrictAuth);

        // Secrets: static local values and their age.
        var secrets = await grains.LocalSecrets().ListAsync();
        Add(findings, "stale-static-secret", "medium", $"Static local secrets not rotated for more than {secretAge} days",
            secrets.Where(s => now - s.UpdatedAt > TimeSpan.FromDays(secretAge)).Select(s => $"{s.Name} ({(now - s.UpdatedAt).TotalDays:0} days)").ToList(),
            "Rotate them, or move them to Vault or Key Vault where leases are short-lived.", "OWASP NHI7:2025 Long-Lived Secrets", StrictAuth);
        var referenced = servers.Select(s => s.Credential).Where(c => c is { Source: "local" }).Select(c => c!.Ref).ToHashSet(StringComparer.Ordinal);
        Add(findings, "static-secret-in-use", "low", "Servers whose credential is a static local secret rather than a leased one",
            servers.Where(s => s.Credential is { Source: "local" }).Select(s => s.Name).ToList(),
            "Prefer a Vault or Key Vault source: the edge then splices a short-lived lease.", "OWASP NHI7:2025 Long-Lived Secrets", StrictAuth);

        // Egress: targets that a rule reaches without path restrictions.
        var openEgress = policies.SelectMany(p => p.Policy.Rules.Where(r => r is { IsEgress: true, Effect: PolicyEffect.Allow, Paths: null }).Select(r => $"{r.Egress} (policy {p.Policy.Name})"))
            .Distinct(StringComparer.Ordinal).ToList();
        Add(findings, "egress-any-path", "medium", "Egress rules that allow every path of a target", openEgress,
            "Add paths (and methods) to the rule: the API key the edge splices there then opens only what the server needs.", Overprivileged, LeastPrivilege);

        // Identity: SVID lifetimes and the CA's remaining life.
        var maxTtl = silo.Value.SvidTtl;
        var edges = await grains.Edges().ListEdgesAsync();
        Add(findings, "long-svid", "medium", $"Edges holding SVIDs that live longer than {maxTtl.TotalHours:0} h",
            edges.Where(e => !e.Revoked && e is { LastIssuedAt: { } issued, SvidExpiresAt: { } expires } && expires - issued > maxTtl + TimeSpan.FromMinutes(5)).Select(e => e.Name).ToList(),
            "Shorten the SVID TTL: a stolen key is only good until it expires.", "OWASP NHI7:2025 Long-Lived Secrets", LeastPrivilege);
        var ca = await grains.Authority(trust.Value.TrustDomain).GetStatusAsync();
        Add(findings, "ca-expiry", "high", "The CA's active root expires within 30 days",
            ca.Roots.Where(r => r.State == "active" && r.NotAfter - now < TimeSpan.FromDays(30)).Select(r => $"{r.Sha256[..16]}… (expires {r.NotAfter:yyyy-MM-dd})").ToList(),
            "Rotate the CA (POST /v1/ca:rotate): edges and silos move to the new root without downtime.", Improve);

        // From the audit: workloads calling without any policy, and policies no call used for a while.
        var records = await AuditReading.LatestAsync(grains, MaxAuditRecords);
        var ungoverned = records.Where(r => r.Kind is null && SpiffeId.TryParse(r.Workload, out var id) && !id.IsReserved && catalog.RulesFor(id, r.Server).Count == 0)
            .Select(r => r.Workload).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        Add(findings, "ungoverned-workload", "low", "Workloads seen calling with no policy for the server they called (denied by default)", ungoverned,
            "Give them a policy if the calls are expected; otherwise find out what runs with that identity, and disable it.", "OWASP NHI1:2025 Improper Offboarding", DynamicPolicy);
        var since = now - TimeSpan.FromDays(unused);
        var used = records.Where(r => r.Time >= since && r.Policy is not null).Select(r => r.Policy!).ToHashSet(StringComparer.Ordinal);
        var coversWindow = records.Count > 0 && records[^1].Time <= since;
        Add(findings, "unused-grant", "low", $"Policies that allowed or denied no call in the last {unused} days",
            policies.Where(p => p.UpdatedAt < since && !used.Contains(p.Policy.Name) && p.Policy.Rules.Any(r => r.Effect == PolicyEffect.Allow))
                .Select(p => p.Policy.Name + (coversWindow ? "" : " (the audit read does not reach back that far)")).ToList(),
            "Remove grants nobody uses; an unused grant is access waiting to be misused.", Overprivileged, LeastPrivilege);

        return TypedResults.Ok(new PostureReport(now, records.Count, findings));
    }

    private static bool TryDays(string? text, int fallback, out int days)
    {
        days = fallback;
        return text is null || (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out days) && days is >= 1 and <= 3650);
    }

    private static void Add(List<Finding> findings, string id, string severity, string title, List<string> objects, string fix, params string[] frameworks)
    {
        if (objects.Count > 0)
        {
            findings.Add(new Finding(id, severity, title, objects, fix, frameworks));
        }
    }
}
