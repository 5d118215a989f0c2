using Fabric.Contracts.Policy;
using Fabric.Edge.Pipeline;

namespace Fabric.Edge.Tests.Pipeline;

/// <summary>The one refusal table: complete, and the same as the README's reason-code table.</summary>
public sealed class RefusalsTests
{
    [Fact]
    public void Every_reason_code_but_the_two_non_refusals_has_a_row()
    {
        var rows = Refusals.Reasons.ToHashSet(StringComparer.Ordinal);
        Assert.Equal(ReasonCodes.All.Except([ReasonCodes.Allowed, ReasonCodes.ClientClosed]).Order(StringComparer.Ordinal), rows.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_readme_lists_every_reason_code_with_the_status_of_its_row()
    {
        var readme = File.ReadAllLines(Path.Combine(RepositoryRoot(), "README.md"));
        foreach (var reason in ReasonCodes.All)
        {
            var line = Assert.Single(readme, l => l.StartsWith($"| `{reason}` |", StringComparison.Ordinal));
            if (Refusals.Reasons.Contains(reason))
            {
                Assert.Contains(Refusals.For(reason).Status.ToString(System.Globalization.CultureInfo.InvariantCulture), line, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void Upstream_faults_are_502_and_transport_faults_their_own_status()
    {
        Assert.All(new[] { ReasonCodes.UpstreamUnavailable, ReasonCodes.UpstreamIdentityMismatch, ReasonCodes.UpstreamProtocolError, ReasonCodes.UpstreamResponseTooLarge },
            reason => Assert.Equal(502, Refusals.For(reason).Status));
        Assert.Equal(413, Refusals.For(ReasonCodes.MessageTooLarge).Status);
        Assert.Equal(415, Refusals.For(ReasonCodes.UnsupportedMediaType).Status);
        Assert.Equal(405, Refusals.For(ReasonCodes.MethodNotAllowed).Status);
        Assert.Equal(RefusalShape.JsonRpc, Refusals.For(ReasonCodes.InvalidMessage).Shape);
        Assert.Equal(RefusalShape.Denial, Refusals.For(ReasonCodes.UnknownMethod).Shape);
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Fabric.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException("Fabric.sln not found above " + AppContext.BaseDirectory);
    }
}
