using System.Text.RegularExpressions;
using Fabric.Contracts.Identity;

namespace Fabric.Contracts.Policy;

/// <summary>
/// Validates a policy before the catalog accepts it. Returns field errors keyed by the JSON path
/// of the offending value in camelCase (<c>name</c>, <c>subjects[0]</c>, <c>rules[1].server</c>,
/// <c>rules[1].tools[0]</c>, <c>rules[2].when.arguments.path</c>), ready for RFC 7807
/// <c>ValidationProblem</c>; an empty dictionary means valid. Bounds keep a compiled catalog and the
/// per-call evaluation small, whatever an operator (or a compromised admin client) sends.
/// </summary>
public static partial class PolicyValidator
{
    public const int MaxSubjects = 1000;
    public const int MaxRules = 1000;
    public const int MaxGlobs = 1000;
    public const int MaxArguments = 1000;
    public const int MaxGlobLength = 1024;
    /// <summary>Server names are at most 63 characters; a server glob with more non-'*' characters matches none.</summary>
    public const int MaxServerGlobLiterals = 63;
    public const int MaxServerGlobLength = 128;

    public static IReadOnlyDictionary<string, string[]> Validate(PolicyDocument policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var errors = new FieldErrors();

        if (string.IsNullOrEmpty(policy.Name))
        {
            errors.Add("name", "name is required");
        }
        else if (!NamePattern().IsMatch(policy.Name))
        {
            errors.Add("name", "name must be 1-128 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit");
        }

        if (CheckCount(policy.Subjects, "subjects", "subject", MaxSubjects, errors.Add))
        {
            for (var i = 0; i < policy.Subjects.Count; i++)
            {
                if (!SpiffeIdPattern.TryParse(policy.Subjects[i], out var subject, out var error))
                {
                    errors.Add($"subjects[{i}]", error);
                }
                else if (subject.IsReserved)
                {
                    // Fabric components are never agents (issue 9 §2); a grant to one is a policy bug at best.
                    errors.Add($"subjects[{i}]", $"'{SpiffeId.ReservedPath}' and everything under it are reserved for the fabric's own components, in every trust domain");
                }
            }
        }

        if (CheckCount(policy.Rules, "rules", "rule", MaxRules, errors.Add))
        {
            for (var i = 0; i < policy.Rules.Count; i++)
            {
                ValidateRule(policy.Rules[i], $"rules[{i}]", errors.Add);
            }
        }

        return errors.ToDictionary();
    }

    private static void ValidateRule(PolicyRule? rule, string path, Action<string, string> add)
    {
        if (rule is null)
        {
            add(path, "a rule is required");
            return;
        }
        if (rule.IsEgress)
        {
            ValidateEgressRule(rule, path, add);
            return;
        }
        if (rule.Paths is not null)
        {
            add(path + ".paths", "paths belong to egress rules (with 'egress', not 'server')");
        }
        var server = rule.Server;
        if (string.IsNullOrEmpty(server))
        {
            add(path + ".server", "server is required (a server name or a glob such as 'github-*')");
        }
        else if (!server.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '*' or '?'))
        {
            add(path + ".server", "server may contain only a-z, 0-9, '-' and the wildcards '*' and '?'");
        }
        else if (server.Length > MaxServerGlobLength || server.Count(c => c != '*') > MaxServerGlobLiterals)
        {
            add(path + ".server", $"server is at most {MaxServerGlobLiterals} characters besides '*' (server names are at most 63)");
        }

        if (!Enum.IsDefined(rule.Effect))
        {
            add(path + ".effect", "effect must be 'allow' or 'deny'");
        }

        ValidateGlobs(rule.Tools, path + ".tools", "tool", add);
        ValidateGlobs(rule.Resources, path + ".resources", "resource", add);
        ValidateGlobs(rule.Prompts, path + ".prompts", "prompt", add);
        ValidateMethods(rule.Methods, path + ".methods", add);
        ValidateAnnotations(rule, path, add);
        ValidateLimit(rule, path, add);
        ValidateApproval(rule, path, add);

        if (rule.When is not null && rule.Methods is not null)
        {
            // Extension methods are opaque to the edge: there are no arguments it could check.
            add(path + ".when", "when cannot constrain methods: the edge reads no arguments of extension methods; put methods in a rule of their own");
        }
        else if (rule.When is { } when)
        {
            ValidateCondition(when, path + ".when", add);
            // Only tools/call and prompts/get carry arguments; on a resources-only rule a condition
            // could never hold (an allow would never allow, a deny never deny), so it is a mistake.
            if (rule.Tools is null && rule.Prompts is null && rule.Annotations is null && !PolicyEvaluator.IsWholeServer(rule))
            {
                add(path + ".when", "when constrains tool or prompt arguments, and resource reads have none; list tools or prompts too");
            }
        }
    }

    private static void ValidateGlobs(IReadOnlyList<string>? globs, string path, string what, Action<string, string> add)
    {
        // Absent means "this rule does not name this kind"; an empty list is almost certainly a
        // mistake (it would silently narrow the rule to nothing), so it is rejected.
        if (globs is null)
        {
            return;
        }
        if (globs.Count == 0)
        {
            add(path, $"list at least one {what} glob, or omit the field");
            return;
        }
        if (globs.Count > MaxGlobs)
        {
            add(path, $"at most {MaxGlobs} {what} globs are allowed");
            return;
        }
        for (var i = 0; i < globs.Count; i++)
        {
            if (ValidateGlob(globs[i]) is { } error)
            {
                add($"{path}[{i}]", error);
            }
        }
    }

    /// <summary>Longest method name a rule may name (the edge reads method names of any length, but none longer matches).</summary>
    public const int MaxMethodLength = 256;

    private static void ValidateMethods(IReadOnlyList<string>? methods, string path, Action<string, string> add)
    {
        if (methods is null)
        {
            return;
        }
        if (methods.Count == 0 || methods.Count > MaxGlobs)
        {
            add(path, $"list 1 to {MaxGlobs} method names, or omit the field");
            return;
        }
        for (var i = 0; i < methods.Count; i++)
        {
            var method = methods[i];
            if (string.IsNullOrEmpty(method) || method.Length > MaxMethodLength || method.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
            {
                add($"{path}[{i}]", $"a method name is 1-{MaxMethodLength} characters without spaces or control characters");
            }
            else if (McpMethods.IsKnownIgnoringCase(method))
            {
                // Known methods are decided by tools/resources/prompts rules and the protocol gate; a case variant
                // ('Tools/Call') is the parser differential a rule must never open (JSON-RPC names are case-sensitive).
                add($"{path}[{i}]", $"'{method}' is (a spelling of) an MCP method; methods names extension methods only, exactly as sent");
            }
            else if (method.Contains('*', StringComparison.Ordinal) || method.Contains('?', StringComparison.Ordinal))
            {
                add($"{path}[{i}]", "methods are names, not globs");
            }
        }
    }

    private static void ValidateCondition(PolicyCondition when, string path, Action<string, string> add)
    {
        var arguments = when.Arguments;
        if (arguments is null && when.Approval is not null)
        {
            return;
        }
        if (arguments is null || arguments.Count == 0)
        {
            add(path + ".arguments", "when.arguments must constrain at least one argument");
            return;
        }
        if (arguments.Count > MaxArguments)
        {
            add(path + ".arguments", $"at most {MaxArguments} argument constraints are allowed");
            return;
        }
        foreach (var (name, glob) in arguments)
        {
            if (string.IsNullOrEmpty(name) || name.Length > MaxGlobLength || name.Any(char.IsControl))
            {
                add(path + ".arguments", $"argument names must be 1-{MaxGlobLength} characters without control characters");
            }
            else if (ValidateGlob(glob) is { } error)
            {
                add($"{path}.arguments.{name}", error);
            }
        }
    }

    /// <summary>The error for a name or argument glob, or null when it is usable.</summary>
    public static string? ValidateGlob(string? glob)
    {
        if (string.IsNullOrEmpty(glob))
        {
            return "a glob must not be empty (use '*' to match anything)";
        }
        if (glob.Length > MaxGlobLength)
        {
            return $"a glob is at most {MaxGlobLength} characters";
        }
        return glob.Any(char.IsControl) ? "a glob must not contain control characters" : null;
    }

    private static bool CheckCount<T>(IReadOnlyList<T>? list, string key, string what, int max, Action<string, string> add)
    {
        if (list is null || list.Count == 0)
        {
            add(key, $"at least one {what} is required");
            return false;
        }
        if (list.Count > max)
        {
            add(key, $"at most {max} {what}s are allowed");
            return false;
        }
        return true;
    }

    [GeneratedRegex(@"^[a-z0-9][a-z0-9._-]{0,127}\z", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();
}
