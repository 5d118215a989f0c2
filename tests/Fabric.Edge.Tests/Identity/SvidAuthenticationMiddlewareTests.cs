using System.Security.Claims;
using Fabric.Contracts.Identity;
using Fabric.Edge.Identity;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Fabric.Edge.Tests.Identity;

/// <summary>
/// The identity step's middleware: a connection that already proved its SVID hands its principal to each request without
/// the authentication framework; anything else goes through the scheme, whose answer alone sets the request's user.
/// </summary>
public sealed class SvidAuthenticationMiddlewareTests
{
    [Fact]
    public async Task A_request_on_a_connection_whose_svid_was_read_gets_that_principal_without_asking_the_scheme()
    {
        var scheme = new CountingAuthentication(AuthenticateResult.NoResult());
        var principal = new ClaimsPrincipal(new SvidIdentity(SpiffeId.Parse("spiffe://fabric.local/agents/a")));
        var context = Context(scheme, new Dictionary<object, object?> { [SvidAuthenticationHandler.ItemKey] = principal });

        var nextRan = false;
        await SvidAuthenticationHandler.AuthenticateAsync(context, _ => { nextRan = true; return Task.CompletedTask; });

        Assert.True(nextRan);
        Assert.Same(principal, context.User);
        Assert.Equal(0, scheme.Calls);
    }

    [Fact]
    public async Task The_first_request_of_a_connection_and_a_connection_with_no_svid_go_through_the_scheme()
    {
        var agent = new ClaimsPrincipal(new SvidIdentity(SpiffeId.Parse("spiffe://fabric.local/agents/b"), bearer: true));
        var admitted = new CountingAuthentication(AuthenticateResult.Success(new AuthenticationTicket(agent, SvidAuthenticationHandler.SchemeName)));
        var first = Context(admitted, new Dictionary<object, object?>());
        await SvidAuthenticationHandler.AuthenticateAsync(first, _ => Task.CompletedTask);
        Assert.Same(agent, first.User);
        Assert.Equal(1, admitted.Calls);

        // A cached "not admitted" (a certificate that is no SVID) is never taken for an identity: the scheme decides, and refuses.
        var refused = new CountingAuthentication(AuthenticateResult.Fail("no SVID"));
        var other = Context(refused, new Dictionary<object, object?> { [SvidAuthenticationHandler.ItemKey] = new ClaimsPrincipal() });
        await SvidAuthenticationHandler.AuthenticateAsync(other, _ => Task.CompletedTask);
        Assert.Null(SvidAuthenticationHandler.WorkloadOf(other.User));
        Assert.Equal(1, refused.Calls);
    }

    private static DefaultHttpContext Context(IAuthenticationService authentication, IDictionary<object, object?> items)
    {
        var context = new DefaultHttpContext
        {
            RequestServices = new ServiceCollection().AddSingleton(authentication).BuildServiceProvider(),
        };
        context.Features.Set<IConnectionItemsFeature>(new ConnectionItems(items));
        return context;
    }

    private sealed class ConnectionItems(IDictionary<object, object?> items) : IConnectionItemsFeature
    {
        public IDictionary<object, object?> Items { get; set; } = items;
    }

    private sealed class CountingAuthentication(AuthenticateResult result) : IAuthenticationService
    {
        public int Calls { get; private set; }

        public Task<AuthenticateResult> AuthenticateAsync(HttpContext context, string? scheme)
        {
            Calls++;
            return Task.FromResult(result);
        }

        public Task ChallengeAsync(HttpContext context, string? scheme, AuthenticationProperties? properties) => throw new NotSupportedException();
        public Task ForbidAsync(HttpContext context, string? scheme, AuthenticationProperties? properties) => throw new NotSupportedException();
        public Task SignInAsync(HttpContext context, string? scheme, ClaimsPrincipal principal, AuthenticationProperties? properties) => throw new NotSupportedException();
        public Task SignOutAsync(HttpContext context, string? scheme, AuthenticationProperties? properties) => throw new NotSupportedException();
    }
}
