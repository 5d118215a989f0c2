using System.Text.Json;
using Fabric.Contracts.Grains;
using Fabric.Contracts.Policy;
using Fabric.Contracts.Servers;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Fabric.Silo.Apis;

/// <summary>
/// <c>/v1/servers/{name}/tools</c>: a server's tool lock (issue 12 §1) for review — approved against last seen, per
/// list, with per-field diffs — and <c>tools:approve</c>, which approves exactly the set the reviewer saw, by its digest.
/// </summary>
internal static class ToolLockApi
{
    public sealed record LockReport(ToolLockMode Mode, IReadOnlyDictionary<LockedList, ListReport> Lists, IReadOnlyDictionary<string, ToolAnnotations>? Attested = null);

    /// <summary>Longest tool name an attestation may name (the MCP specification's 128, SEP-986).</summary>
    public const int MaxToolName = 128;

    public sealed record ListReport(string? ApprovedDigest, string? CurrentDigest, IReadOnlyList<ItemReport> Items);

    public sealed record ItemReport(string Name, string Status, string? ApprovedDigest, string? CurrentDigest, IReadOnlyDictionary<string, FieldDiff>? Diff);

    public sealed record FieldDiff(JsonElement? Approved, JsonElement? Current);

    public sealed record ApproveInput(string? Digest, string? List = null);

    public static void MapToolLockApi(this RouteGroupBuilder v1)
    {
        v1.MapGet("/servers/{name}/tools", GetToolLock)
            .WithName(nameof(GetToolLock))
            .WithSummary("A server's tool lock: approved and last seen tools, prompts and resource templates, with per-field diffs");
        v1.MapPost("/servers/{name}/tools:approve", ApproveTools)
            .WithName(nameof(ApproveTools))
            .WithSummary("Approve a server's current tools (or prompts, resource templates) by the digest that was reviewed; 409 if it changed since");
        v1.MapPut("/servers/{name}/annotations/{**tool}", AttestAnnotations)
            .WithName(nameof(AttestAnnotations))
            .WithSummary("Attest a tool's annotations (readOnlyHint, destructiveHint, idempotentHint, openWorldHint): what rules on annotations match");
        v1.MapDelete("/servers/{name}/annotations/{**tool}", RemoveAttestation)
            .WithName(nameof(RemoveAttestation))
            .WithSummary("Remove a tool's attested annotations: rules on annotations no longer match it");
    }

    private static async Task<Results<Ok<LockReport>, NotFound>> GetToolLock(string name, IGrainFactory grains)
    {
        if (!McpServerValidator.IsValidName(name) || await grains.Server(name).GetAsync() is null)
        {
            return TypedResults.NotFound();
        }
        return TypedResults.Ok(Report(await grains.ToolLock(name).GetAsync()));
    }

    private static async Task<Results<Ok<LockReport>, NotFound, ValidationProblem, ProblemHttpResult>> ApproveTools(string name, HttpContext context, IGrainFactory grains)
    {
        if (!McpServerValidator.IsValidName(name) || await grains.Server(name).GetAsync() is null)
        {
            return TypedResults.NotFound();
        }
        var (body, invalid, tooLarge) = await ApiBody.ReadAsync<ApproveInput>(context);
        if (tooLarge is not null)
        {
            return tooLarge;
        }
        if (invalid is not null)
        {
            return invalid;
        }
        if (body!.Digest is not { Length: 64 } digest || !digest.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f'))
        {
            return ApiBody.Field("digest", "digest is the 64 lower-case hex characters of the set's currentDigest, as reviewed");
        }
        LockedList? list = body.List switch
        {
            null or "tools" => LockedList.Tools,
            "prompts" => LockedList.Prompts,
            "resourceTemplates" => LockedList.ResourceTemplates,
            _ => null,
        };
        if (list is null)
        {
            return ApiBody.Field("list", "list is 'tools' (the default), 'prompts' or 'resourceTemplates'");
        }
        var toolLock = grains.ToolLock(name);
        if (!await toolLock.ApproveAsync(list.Value, digest))
        {
            return ApiBody.Refusal(StatusCodes.Status409Conflict, "tool-set-changed",
                "The server's current set is not the one with this digest (it changed since it was reviewed, or was never seen); review it again.");
        }
        return TypedResults.Ok(Report(await toolLock.GetAsync()));
    }

    private static async Task<Results<Ok<LockReport>, NotFound, ValidationProblem, ProblemHttpResult>> AttestAnnotations(string name, string tool, HttpContext context, IGrainFactory grains)
    {
        if (!McpServerValidator.IsValidName(name) || await grains.Server(name).GetAsync() is null)
        {
            return TypedResults.NotFound();
        }
        if (ToolNameError(tool) is { } error)
        {
            return ApiBody.Field("tool", error);
        }
        var (body, invalid, tooLarge) = await ApiBody.ReadAsync<ToolAnnotations>(context);
        if (tooLarge is not null)
        {
            return tooLarge;
        }
        if (invalid is not null)
        {
            return invalid;
        }
        if (body!.IsEmpty)
        {
            return ApiBody.Field("body", "attest at least one of readOnlyHint, destructiveHint, idempotentHint, openWorldHint (true or false); DELETE removes an attestation");
        }
        var toolLock = grains.ToolLock(name);
        await toolLock.AttestAsync(tool, body);
        return TypedResults.Ok(Report(await toolLock.GetAsync()));
    }

    private static async Task<Results<NoContent, NotFound, ValidationProblem>> RemoveAttestation(string name, string tool, IGrainFactory grains)
    {
        if (!McpServerValidator.IsValidName(name) || await grains.Server(name).GetAsync() is null)
        {
            return TypedResults.NotFound();
        }
        if (ToolNameError(tool) is { } error)
        {
            return ApiBody.Field("tool", error);
        }
        return await grains.ToolLock(name).AttestAsync(tool, null) ? TypedResults.NoContent() : TypedResults.NotFound();
    }

    private static string? ToolNameError(string tool) =>
        tool.Length is 0 or > MaxToolName || tool.Any(c => char.IsControl(c) || char.IsWhiteSpace(c))
            ? $"a tool name is 1-{MaxToolName} characters without spaces or control characters"
            : null;

    private static LockReport Report(ToolLockState state) => new(state.Mode,
        Enum.GetValues<LockedList>().Where(l => state.Approved.ContainsKey(l) || state.Current.ContainsKey(l)).ToDictionary(l => l, l =>
        {
            var approved = (state.Approved.GetValueOrDefault(l) ?? []).ToDictionary(i => i.Name, StringComparer.Ordinal);
            var current = (state.Current.GetValueOrDefault(l) ?? []).ToDictionary(i => i.Name, StringComparer.Ordinal);
            var items = approved.Keys.Union(current.Keys).Order(StringComparer.Ordinal).Select(n =>
            {
                var (a, c) = (approved.GetValueOrDefault(n), current.GetValueOrDefault(n));
                var status = a is null ? "new" : c is null ? "removed" : a.Digest == c.Digest ? "approved" : "changed";
                return new ItemReport(n, status, a?.Digest, c?.Digest, status == "changed" ? Diff(l, a!, c!) : null);
            }).ToList();
            return new ListReport(
                state.Approved.ContainsKey(l) ? LockDigest.OfSet(approved.Values) : null,
                state.Current.ContainsKey(l) ? LockDigest.OfSet(current.Values) : null,
                items);
        }),
        state.Attested is { Count: > 0 } attested ? attested : null);

    /// <summary>The fields whose canonical values differ, each with both sides.</summary>
    private static Dictionary<string, FieldDiff> Diff(LockedList list, LockedItem approved, LockedItem current)
    {
        using var a = JsonDocument.Parse(approved.Canonical);
        using var c = JsonDocument.Parse(current.Canonical);
        var diff = new Dictionary<string, FieldDiff>(StringComparer.Ordinal);
        foreach (var field in LockDigest.FieldsOf(list))
        {
            var hasA = a.RootElement.TryGetProperty(field, out var va);
            var hasC = c.RootElement.TryGetProperty(field, out var vc);
            if (hasA != hasC || (hasA && LockDigest.CanonicalValue(va) != LockDigest.CanonicalValue(vc)))
            {
                diff[field] = new FieldDiff(hasA ? va.Clone() : null, hasC ? vc.Clone() : null);
            }
        }
        return diff;
    }
}
