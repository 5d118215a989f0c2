using System.Diagnostics;
using System.Text;
using Fabric.Edge.Filters;

namespace Fabric.Bench.Scenarios;

/// <summary>
/// What credential redaction costs on its own (issue 9 §3): a 1 KiB JSON answer through the edge's
/// <see cref="RedactingStream"/> with the needles of a typical credential, without and with one echo of it, on
/// one thread. The end-to-end rows cannot show it apart: no product switch turns redaction off while splicing.
/// </summary>
internal static class RedactionProbe
{
    public sealed record Result(double MicrosecondsClean, double MicrosecondsEcho, int Needles);

    public static async Task<Result> RunAsync(int iterations, CancellationToken ct)
    {
        var secret = "sk-live-" + Guid.NewGuid().ToString("N");
        var needles = CredentialNeedles.For(["Bearer " + secret, secret]);
        var clean = Body(null);
        var echo = Body("Bearer " + secret);
        await MeasureAsync(needles, clean, iterations / 10, ct); // JIT warm-up
        await MeasureAsync(needles, echo, iterations / 10, ct);
        return new Result(await MeasureAsync(needles, clean, iterations, ct), await MeasureAsync(needles, echo, iterations, ct), needles.Count);
    }

    private static byte[] Body(string? echo)
    {
        var text = new StringBuilder("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"");
        if (echo is not null)
        {
            text.Append(echo).Append(' ');
        }
        while (text.Length < 1024 - 4)
        {
            text.Append("lorem ipsum ");
        }
        return Encoding.UTF8.GetBytes(text.ToString(0, 1024 - 4) + "\"}]}");
    }

    private static async Task<double> MeasureAsync(CredentialNeedles needles, byte[] body, int iterations, CancellationToken ct)
    {
        var wall = Stopwatch.StartNew();
        for (var i = 0; i < iterations; i++)
        {
            await using var stream = new RedactingStream(Stream.Null, needles);
            // A 1 KiB answer arrives in two writes, as TLS records and HTTP/2 frames may cut it.
            await stream.WriteAsync(body.AsMemory(0, 600), ct);
            await stream.WriteAsync(body.AsMemory(600), ct);
            await stream.CompleteAsync(ct);
        }
        wall.Stop();
        return wall.Elapsed.TotalMicroseconds / iterations;
    }
}
