namespace Fabric.Contracts.Servers;

/// <summary>The body of <c>PUT /v1/servers/{name}</c>, bound straight from JSON (all fields nullable so validation, not the binder, reports what is missing).</summary>
[System.Text.Json.Serialization.JsonUnmappedMemberHandling(System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow)]
public sealed record McpServerInput(
    string? Upstream,
    string? Identity = null,
    CredentialBindingInput? Credential = null,
    string? OnReflection = null,
    string? AgentJwtAudience = null,
    LaunchInput? Launch = null,
    string? ToolLock = null)
{
    /// <summary>The stored form of <see cref="OnReflection"/>; call only after validation.</summary>
    public ReflectionAction ReflectionAction => OnReflection == "block" ? ReflectionAction.Block : ReflectionAction.Redact;

    /// <summary>The stored form of <see cref="ToolLock"/> (default trust on first use); call only after validation.</summary>
    public ToolLockMode ToolLockMode => ToolLock switch { "off" => ToolLockMode.Off, "approve" => ToolLockMode.Approve, _ => ToolLockMode.TrustOnFirstUse };
}

/// <summary>The <c>credential</c> object of <see cref="McpServerInput"/>; which references apply depends on the source.</summary>
[System.Text.Json.Serialization.JsonUnmappedMemberHandling(System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow)]
public sealed record CredentialBindingInput(
    string? Source,
    string? Ref,
    bool PerWorkload = false,
    InjectSpecInput? Inject = null,
    string? Mount = null,
    string? Path = null,
    string? Field = null,
    string? Name = null,
    string? Version = null)
{
    /// <summary>The input form of a stored binding, for grains that validate what they are handed with the API's rules.</summary>
    public static CredentialBindingInput From(CredentialBinding binding) =>
        new(binding.Source, binding.Ref, binding.PerWorkload,
            binding.Inject is null ? null : new InjectSpecInput(binding.Inject.Header, binding.Inject.Format),
            binding.Mount, binding.Path, binding.Field, binding.Name, binding.Version);

    /// <summary>The stored form; call only after <see cref="McpServerValidator.Validate(string?, McpServerInput?, IReadOnlyCollection{string}?, bool)"/> returned no errors.</summary>
    public CredentialBinding ToBinding() =>
        Source is null || Inject?.Header is null || Inject.Format is null
            ? throw new InvalidOperationException("the credential binding has not been validated")
            : new CredentialBinding(Source, Ref, PerWorkload, new InjectSpec(Inject.Header, Inject.Format), Mount, Path, Field, Name, Version);
}

/// <summary>The <c>credential.inject</c> object: the header to set and its format with <c>{secret}</c>.</summary>
[System.Text.Json.Serialization.JsonUnmappedMemberHandling(System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow)]
public sealed record InjectSpecInput(string? Header, string? Format);
