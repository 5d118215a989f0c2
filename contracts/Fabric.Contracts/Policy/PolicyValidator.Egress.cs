namespace Fabric.Contracts.Policy;

/// <summary>Egress rules (<c>{egress, effect, methods?, paths?}</c>): the rules on MCP servers' outbound calls.</summary>
public static partial class PolicyValidator
{
    /// <summary>HTTP methods an egress rule may name (RFC 9110 §9 and PATCH, RFC 5789); CONNECT and TRACE never go out.</summary>
    private static readonly HashSet<string> EgressMethods = new(StringComparer.Ordinal) { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS" };

    /// <summary>
    /// <c>{ egress, effect, methods?, paths? }</c>: the target a glob like a server's, methods upper-case HTTP methods,
    /// paths globs starting with '/'; nothing of an MCP rule (server, tools, resources, prompts, when).
    /// </summary>
    private static void ValidateEgressRule(PolicyRule rule, string path, Action<string, string> add)
    {
        var target = rule.Egress!;
        if (rule.Server.Length != 0)
        {
            add(path + ".server", "a rule names a server or an egress target, not both");
        }
        if (target.Length == 0 || !target.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '*' or '?'))
        {
            add(path + ".egress", "egress is an egress target name or glob of a-z, 0-9, '-', '*' and '?'");
        }
        else if (target.Length > MaxServerGlobLength || target.Count(c => c != '*') > MaxServerGlobLiterals)
        {
            add(path + ".egress", $"egress is at most {MaxServerGlobLiterals} characters besides '*'");
        }
        if (!Enum.IsDefined(rule.Effect))
        {
            add(path + ".effect", "effect must be 'allow' or 'deny'");
        }
        foreach (var (field, value) in new[] { ("tools", (object?)rule.Tools), ("resources", rule.Resources), ("prompts", rule.Prompts), ("when", rule.When), ("annotations", rule.Annotations), ("limit", rule.Limit) })
        {
            if (value is not null)
            {
                add($"{path}.{field}", $"{field} belongs to rules on MCP servers, not egress rules");
            }
        }
        if (rule.Methods is { } methods)
        {
            if (methods.Count == 0 || methods.Count > MaxGlobs)
            {
                add(path + ".methods", $"list 1 to {MaxGlobs} HTTP methods, or omit the field for all");
            }
            for (var i = 0; i < methods.Count && i < MaxGlobs; i++)
            {
                if (!EgressMethods.Contains(methods[i] ?? ""))
                {
                    add($"{path}.methods[{i}]", "an HTTP method in upper case: GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS");
                }
            }
        }
        ValidateGlobs(rule.Paths, path + ".paths", "path", add);
        for (var i = 0; rule.Paths is { } paths && i < paths.Count && i < MaxGlobs; i++)
        {
            if (paths[i] is { Length: > 0 } glob && glob[0] != '/')
            {
                add($"{path}.paths[{i}]", "a path glob starts with '/' (it matches the request path, without the query)");
            }
        }
    }
}
