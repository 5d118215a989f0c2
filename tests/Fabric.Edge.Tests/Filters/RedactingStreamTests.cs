using System.Text;
using Fabric.Edge.Filters;
using static Fabric.Edge.Tests.Filters.CredentialEchoes;

namespace Fabric.Edge.Tests.Filters;

public sealed class RedactingStreamTests
{
    private static readonly CredentialNeedles Needles = CredentialNeedles.For([Tricky, Header(Tricky)]);

    [Fact]
    public async Task Releases_an_sse_event_whole_at_the_flush_after_its_write()
    {
        var inner = new MemoryStream();
        await using var stream = new RedactingStream(inner, Needles);
        var sseEvent = Encoding.UTF8.GetBytes("event: message\ndata: {\"echo\":\"" + Encode("json-default", Header(Tricky)) + "\"}\n\n");

        await stream.WriteAsync(sseEvent);
        await stream.FlushAsync();

        Assert.Equal(0, stream.HeldBackBytes);
        Assert.Equal(sseEvent.Length, inner.Length);
        Assert.Equal(2, stream.Redactions);
        Assert.DoesNotContain("\\u002B", Encoding.UTF8.GetString(inner.ToArray()), StringComparison.Ordinal);
        Assert.EndsWith("\"}\n\n", Encoding.UTF8.GetString(inner.ToArray()), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Releases_a_held_prefix_unchanged_at_completion_when_no_secret_follows()
    {
        var inner = new MemoryStream();
        var stream = new RedactingStream(inner, Needles);

        await stream.WriteAsync("{\"text\":\"the end of Bear"u8.ToArray());
        await stream.FlushAsync();
        Assert.Equal("Bear".Length, stream.HeldBackBytes);
        Assert.Equal("{\"text\":\"the end of ", Encoding.UTF8.GetString(inner.ToArray()));

        await stream.CompleteAsync();

        Assert.Equal("{\"text\":\"the end of Bear", Encoding.UTF8.GetString(inner.ToArray()));
        Assert.Equal(0, stream.Redactions);
        await stream.DisposeAsync();
    }

    [Fact]
    public async Task An_abandoned_stream_never_writes_its_held_back_tail()
    {
        var inner = new MemoryStream();
        var stream = new RedactingStream(inner, Needles);

        await stream.WriteAsync("{\"text\":\"cut off at Bear"u8.ToArray());
        stream.Abandon();
        await stream.DisposeAsync();

        Assert.Equal("{\"text\":\"cut off at ", Encoding.UTF8.GetString(inner.ToArray()));
    }

    [Fact]
    public async Task Masks_a_secret_written_one_byte_at_a_time()
    {
        var inner = new MemoryStream();
        var stream = new RedactingStream(inner, Needles);
        var body = Encoding.UTF8.GetBytes("a " + Tricky + " b");

        foreach (var b in body)
        {
            await stream.WriteAsync(new[] { b });
        }
        await stream.CompleteAsync();

        Assert.Equal("a " + new string('*', 11) + " b", Encoding.UTF8.GetString(inner.ToArray()));
        Assert.Equal(1, stream.Redactions);
    }

    [Fact]
    public async Task Masks_a_secret_completed_inside_the_held_back_tail()
    {
        // The header value "k=<secret>;x" holds the secret in the middle: "k=<secret>;" is still a pending
        // prefix of it, so the masked secret stays held with it until the header value is ruled out.
        var needles = CredentialNeedles.For(["sk-abcdefgh", "k=sk-abcdefgh;x"]);
        var inner = new MemoryStream();
        var stream = new RedactingStream(inner, needles);

        await stream.WriteAsync("ok k=sk-abcdefgh;"u8.ToArray());
        Assert.Equal("ok ", Encoding.UTF8.GetString(inner.ToArray()));
        await stream.WriteAsync("y"u8.ToArray());
        await stream.CompleteAsync();

        Assert.Equal("ok k=***********;y", Encoding.UTF8.GetString(inner.ToArray()));
        Assert.Equal(1, stream.Redactions);
    }

    [Fact]
    public void Works_with_synchronous_writes_and_writes_the_tail_on_dispose()
    {
        var inner = new MemoryStream();
        using (var stream = new RedactingStream(inner, Needles))
        {
            stream.Write(Encoding.UTF8.GetBytes("x " + Tricky + " Bearer"));
            stream.Flush();
            Assert.Equal("x " + new string('*', 11) + " ", Encoding.UTF8.GetString(inner.ToArray()));
        }

        Assert.Equal("x " + new string('*', 11) + " Bearer", Encoding.UTF8.GetString(inner.ToArray()));
    }

    [Fact]
    public async Task Passes_everything_through_without_needles()
    {
        var inner = new MemoryStream();
        var stream = new RedactingStream(inner, CredentialNeedles.Empty);

        await stream.WriteAsync("Bearer"u8.ToArray());

        Assert.Equal("Bearer", Encoding.UTF8.GetString(inner.ToArray()));
        Assert.Equal(0, stream.HeldBackBytes);
    }

    [Fact]
    public async Task Refuses_writes_after_completion()
    {
        var stream = new RedactingStream(new MemoryStream(), Needles);
        await stream.CompleteAsync();

        await Assert.ThrowsAsync<InvalidOperationException>(() => stream.WriteAsync("x"u8.ToArray()).AsTask());
    }
}
