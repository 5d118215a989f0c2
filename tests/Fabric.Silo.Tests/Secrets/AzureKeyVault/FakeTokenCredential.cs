using System.Collections.Concurrent;
using Azure.Core;
using Azure.Identity;

namespace Fabric.Silo.Tests.Secrets.AzureKeyVault;

/// <summary>
/// Stands in for Entra ID: hands out one fixed bearer token and records what the SDK asked for (the
/// scope and tenant it derived from the vault's 401 challenge). <see cref="Fail"/> makes it behave like
/// a credential that cannot authenticate (bad client secret, no managed identity).
/// </summary>
public sealed class FakeTokenCredential(string token = FakeTokenCredential.DefaultToken) : TokenCredential
{
    public const string DefaultToken = "fake-entra-access-token-for-key-vault";

    private readonly ConcurrentQueue<TokenRequestContext> _requests = new();

    public string Token { get; } = token;

    public bool Fail { get; set; }

    public int Calls => _requests.Count;

    public IReadOnlyList<TokenRequestContext> Requests => [.. _requests];

    public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
    {
        _requests.Enqueue(requestContext);
        if (Fail)
        {
            throw new AuthenticationFailedException("ClientSecretCredential authentication failed: AADSTS7000215: Invalid client secret provided.");
        }
        return new AccessToken(Token, DateTimeOffset.UtcNow.AddHours(1));
    }

    public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        ValueTask.FromResult(GetToken(requestContext, cancellationToken));
}
