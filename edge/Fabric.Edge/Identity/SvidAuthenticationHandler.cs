using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Options;

namespace Fabric.Edge.Identity;

/// <summary>The agent as an ASP.NET Core principal: its SPIFFE ID, proven by the X.509-SVID of the mTLS handshake.</summary>
internal sealed class SvidIdentity(SpiffeId id) : ClaimsIdentity([new Claim(ClaimType, id.ToString())], SvidAuthenticationHandler.SchemeName, ClaimType, null)
{
    /// <summary>The claim that carries the SPIFFE ID (what authorization policies and rate limiters partition by).</summary>
    public const string ClaimType = "spiffe_id";

    public SpiffeId Id { get; } = id;
}

/// <summary>
/// Step 1 (Identity) as an authentication scheme, so authorization and rate limiting can partition by the
/// SPIFFE ID. The handshake callback already refused every certificate that is not a valid X.509-SVID; this
/// reads the ID once per connection (<see cref="ClientIdentity"/>) and keeps the principal with the connection,
/// so a request on a kept-alive connection allocates only its ticket.
/// </summary>
internal sealed class SvidAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, NodeIdentity identity, TimeProvider time)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "x509-svid";

    private const string ItemKey = "fabric.principal";

    /// <summary>Kept for a connection whose certificate is no SVID, so it is not validated again on every request.</summary>
    private static readonly ClaimsPrincipal NotAdmitted = new();

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        // One validation per connection, its answer kept with the connection: the principal, or NotAdmitted.
        var items = Context.Features.Get<IConnectionItemsFeature>()?.Items;
        if (items?.TryGetValue(ItemKey, out var cached) != true)
        {
            cached = ClientIdentity.Read(Context, identity, time) is { } id ? new ClaimsPrincipal(new SvidIdentity(id)) : NotAdmitted;
            if (items is not null)
            {
                items[ItemKey] = cached;
            }
        }
        return Task.FromResult(cached is ClaimsPrincipal principal && !ReferenceEquals(principal, NotAdmitted)
            ? AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName))
            : AuthenticateResult.NoResult());
    }

    /// <summary>The SPIFFE ID of an authenticated request, or null.</summary>
    public static SpiffeId? WorkloadOf(ClaimsPrincipal user) => (user.Identity as SvidIdentity)?.Id;
}
