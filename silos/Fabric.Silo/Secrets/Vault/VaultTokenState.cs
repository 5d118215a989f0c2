namespace Fabric.Silo.Secrets.Vault;

/// <summary>What to do with the client token before the next request.</summary>
internal enum VaultTokenAction
{
    /// <summary>Send it.</summary>
    Use,
    /// <summary>Two thirds of its TTL are gone and it is renewable: <c>auth/token/renew-self</c>.</summary>
    Renew,
    /// <summary>Two thirds are gone and it cannot be renewed (or it already expired): log in again.</summary>
    Replace,
}

/// <summary>
/// The client token and its TTL as Vault last stated it (login, <c>renew-self</c> or
/// <c>lookup-self</c>). Renewal at 2/3 of the TTL leaves a third for retries and a re-login before the
/// token ends; a TTL of zero means the token does not expire (e.g. a root token).
/// </summary>
internal sealed class VaultTokenState(string value, DateTimeOffset obtainedAt, TimeSpan ttl, bool renewable)
{
    public string Value { get; } = value;

    public DateTimeOffset ObtainedAt { get; } = obtainedAt;

    public TimeSpan Ttl { get; } = ttl;

    public bool Renewable { get; } = renewable;

    public bool Expires => Ttl > TimeSpan.Zero;

    public DateTimeOffset? ExpiresAt => Expires ? ObtainedAt + Ttl : null;

    public DateTimeOffset? RefreshAt => Expires ? ObtainedAt + (Ttl * 2 / 3) : null;

    public VaultTokenAction Next(DateTimeOffset now)
    {
        if (RefreshAt is not { } refreshAt || now < refreshAt)
        {
            return VaultTokenAction.Use;
        }
        return Renewable && now < ExpiresAt ? VaultTokenAction.Renew : VaultTokenAction.Replace;
    }

    /// <summary>
    /// The state after a renewal. When Vault grants less than the previous TTL the token has met its
    /// max TTL: renewing again would only shrink it further, so it is replaced at 2/3 of what is left
    /// (the official client's LifetimeWatcher stops renewing in the same case).
    /// </summary>
    public VaultTokenState Renewed(DateTimeOffset now, TimeSpan ttl, bool renewable) =>
        new(Value, now, ttl, renewable && ttl >= Ttl);

    public VaultTokenState NotRenewable() => new(Value, ObtainedAt, Ttl, false);
}
