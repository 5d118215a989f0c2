using System.Security.Claims;
using System.Text.Encodings.Web;
using Fabric.Contracts.Policy;
using Microsoft.AspNetCore.Authentication;
using Fabric.Edge.Hosting;
using Microsoft.Extensions.Options;

namespace Fabric.Edge.Identity;

/// <summary>
/// The agent as an ASP.NET Core principal: its SPIFFE ID, proven by the X.509-SVID of the mTLS handshake or, where
/// the edge accepts them, by a JWT-SVID bearer token (<see cref="Bearer"/>).
/// </summary>
internal sealed class SvidIdentity(SpiffeId id, bool bearer = false)
    : ClaimsIdentity([new Claim(ClaimType, id.ToString())], SvidAuthenticationHandler.SchemeName, ClaimType, null)
{
    /// <summary>The claim that carries the SPIFFE ID (what authorization policies and rate limiters partition by).</summary>
    public const string ClaimType = "spiffe_id";

    public SpiffeId Id { get; } = id;

    public bool Bearer { get; } = bearer;
}

/// <summary>
/// Step 1 (Identity) as an authentication scheme, so authorization and rate limiting can partition by the
/// SPIFFE ID. The handshake callback already refused every certificate that is not a valid X.509-SVID; this
/// reads the ID once per connection (<see cref="ClientIdentity"/>) and keeps the principal with the connection,
/// so a request on a kept-alive connection allocates only its ticket.
/// </summary>
internal sealed class SvidAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, NodeIdentity identity, TimeProvider time,
    JwtAuthorities jwt, IOptions<Fabric.Edge.Hosting.EdgeOptions> edge)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    private const string BearerErrorKey = "fabric.bearer-error";

    public const string SchemeName = "x509-svid";

    internal const string ItemKey = "fabric.principal";

    /// <summary>Kept for a connection whose certificate is no SVID, so it is not validated again on every request.</summary>
    private static readonly ClaimsPrincipal NotAdmitted = new();

    /// <summary>
    /// The identity step as middleware: a request on a connection whose SVID was already read gets that principal as its
    /// <c>User</c> at once, without the authentication framework's per-request handler, ticket and result objects (6 % of
    /// the warm path's allocations, measured); the first request of a connection, and every bearer-token request, goes
    /// through this scheme as before. The edge has no remote-authentication scheme and nothing reads the authenticate
    /// result feature, so this is all <c>UseAuthentication</c> did here.
    /// </summary>
    public static Task AuthenticateAsync(HttpContext context, RequestDelegate next)
    {
        // Only an SVID principal the handler kept (never its "not admitted" marker, which holds no identity).
        if (PerConnection.Get<ClaimsPrincipal>(context, ItemKey) is { Identity: SvidIdentity } principal)
        {
            context.User = principal;
            return next(context);
        }
        return AuthenticateThroughSchemeAsync(context, next);
    }

    private static async Task AuthenticateThroughSchemeAsync(HttpContext context, RequestDelegate next)
    {
        var result = await context.AuthenticateAsync(SchemeName);
        if (result.Principal is { } principal)
        {
            context.User = principal;
        }
        await next(context);
    }

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        // One validation per connection, its answer kept with the connection: the principal, or NotAdmitted.
        var principal = PerConnection.GetOrAdd(Context, ItemKey, (identity, time),
            static (context, node) => ClientIdentity.Read(context, node.identity, node.time) is { } id ? new ClaimsPrincipal(new SvidIdentity(id)) : NotAdmitted);
        if (!ReferenceEquals(principal, NotAdmitted))
        {
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName)));
        }
        return Task.FromResult(Context.Connection.ClientCertificate is null && edge.Value.JwtSvid.Enabled
            ? AuthenticateBearer()
            : AuthenticateResult.NoResult());
    }

    /// <summary>
    /// A JWT-SVID in the one <c>Authorization: Bearer</c> header (validated per request: a token is not bound to the
    /// connection). The audience must name this edge. The header itself never leaves the edge: the forwarder passes
    /// only MCP headers.
    /// </summary>
    private AuthenticateResult AuthenticateBearer()
    {
        if (Request.Headers.Authorization.Count == 0)
        {
            return AuthenticateResult.NoResult();
        }
        var audience = edge.Value.JwtSvid.Audience is { Length: > 0 } configured ? configured : identity.Current.Id.ToString();
        var validation = ValidateBearer(Request, jwt.Current, audience, time.GetUtcNow());
        if (validation.IsValid)
        {
            return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new SvidIdentity(validation.Id, bearer: true)), SchemeName));
        }
        Context.Items[BearerErrorKey] = validation.Error;
        return AuthenticateResult.Fail(validation.Error!);
    }

    /// <summary>The JWT-SVID of the request's one <c>Authorization: Bearer</c> header, validated for <paramref name="audience"/>.</summary>
    public static JwtSvidValidation ValidateBearer(HttpRequest request, JwtBundleSet keys, string audience, DateTimeOffset now)
    {
        var headers = request.Headers.Authorization;
        if (headers.Count != 1 || headers[0] is not { } value || !value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return new JwtSvidValidation(null, "exactly one Authorization: Bearer header is accepted");
        }
        return JwtSvid.Validate(value["Bearer ".Length..].Trim(), keys, audience, now);
    }

    /// <summary>The answer to a request with no admitted identity: 401 naming the bearer token's fault, else 403.</summary>
    public static Task RefuseAsync(HttpContext context)
    {
        if (context.Items[BearerErrorKey] is string error)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
            return Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "JWT-SVID not admitted", detail: error,
                extensions: new Dictionary<string, object?> { ["reason"] = ReasonCodes.InvalidJwtSvid }).ExecuteAsync(context);
        }
        return Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Identity not admitted",
            detail: "No valid X.509-SVID client certificate (or, where accepted, JWT-SVID bearer token) under this fabric's trust bundle.").ExecuteAsync(context);
    }

    /// <summary>True when the request's identity came from a bearer JWT-SVID.</summary>
    public static bool IsBearer(ClaimsPrincipal user) => (user.Identity as SvidIdentity)?.Bearer == true;

    /// <summary>The SPIFFE ID of an authenticated request, or null.</summary>
    public static SpiffeId? WorkloadOf(ClaimsPrincipal user) => (user.Identity as SvidIdentity)?.Id;
}
