namespace Fabric.Contracts.Identity;

/// <summary>
/// The outcome of validating an X509-SVID: the SPIFFE ID it proves, or a short, stable,
/// human-readable reason why it proves nothing. Exactly one of the two is set.
/// </summary>
public sealed record SvidValidation(SpiffeId? Id, string? Error)
{
    [MemberNotNullWhen(true, nameof(Id))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool IsValid => Id is not null;

    internal static SvidValidation Valid(SpiffeId id) => new(id, null);

    internal static SvidValidation Invalid(string error) => new(null, error);
}
