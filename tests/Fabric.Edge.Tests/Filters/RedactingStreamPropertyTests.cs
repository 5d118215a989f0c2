using CsCheck;
using Fabric.Edge.Filters;

namespace Fabric.Edge.Tests.Filters;

/// <summary>
/// Streaming must not change the answer: for random secrets, bodies with needles (whole and cut short)
/// planted at random places, random write sizes and random flushes, the streamed output equals the
/// one-shot masking of the whole body, which itself equals a naive every-position model.
/// Secrets and filler share a tiny alphabet so that partial needles and near misses are common.
/// </summary>
public sealed class RedactingStreamPropertyTests
{
    private const string Alphabet = "sk-+/=<>&\"é Bear%2Bc";

    private static readonly Gen<string> SecretGen = Gen.String[Gen.Char[Alphabet], 8, 16];

    // (kind, needle index, cut, filler): 0 = filler, 1 = a whole needle, 2 = a needle cut short.
    private static readonly Gen<(int Kind, int Needle, int Cut, string Filler)> PieceGen =
        Gen.Select(Gen.Int[0, 2], Gen.Int[0, 1000], Gen.Int[1, 1000], Gen.String[Gen.Char[Alphabet], 0, 12]);

    private static readonly Gen<(int Size, bool Flush, bool Sync)> WriteGen =
        Gen.Select(Gen.Int[1, 48], Gen.Bool, Gen.Int[0, 9].Select(i => i == 0));

    [Fact]
    public Task Streams_exactly_like_the_one_shot_masking() =>
        Gen.Select(SecretGen, PieceGen.Array[0, 24], WriteGen.Array[1, 12]).SampleAsync(async (secret, pieces, writes) =>
        {
            var needles = CredentialNeedles.For([secret, "Bearer " + secret]);
            var body = Build(needles, pieces);

            var expected = body.ToArray();
            var expectedCount = CredentialRedactor.MaskInPlace(needles, expected);
            Assert.Equal(Model(needles, body, out var modelCount), expected);
            Assert.Equal(modelCount, expectedCount);

            var inner = new MemoryStream();
            var stream = new RedactingStream(inner, needles);
            var offset = 0;
            for (var w = 0; offset < body.Length; w = (w + 1) % writes.Length)
            {
                var chunk = body.AsMemory(offset, Math.Min(writes[w].Size, body.Length - offset));
                offset += chunk.Length;
                if (writes[w].Sync)
                {
                    stream.Write(chunk.Span);
                }
                else
                {
                    await stream.WriteAsync(chunk);
                }
                if (writes[w].Flush)
                {
                    await stream.FlushAsync();
                }
                Assert.Equal(offset, inner.Length + stream.HeldBackBytes);
                Assert.True(stream.HeldBackBytes < needles.MaxLength);
            }
            await stream.CompleteAsync();

            var actual = inner.ToArray();
            Assert.Equal(body.Length, actual.Length);
            Assert.Equal(expected, actual);
            Assert.Equal(expectedCount, stream.Redactions);
            for (var n = 0; n < needles.Count; n++)
            {
                Assert.True(actual.AsSpan().IndexOf(needles[n]) < 0, $"needle {n} survived");
            }
        }, iter: 3_000);

    private static byte[] Build(CredentialNeedles needles, (int Kind, int Needle, int Cut, string Filler)[] pieces)
    {
        var body = new List<byte>();
        foreach (var (kind, index, cut, filler) in pieces)
        {
            var needle = needles[index % needles.Count];
            switch (kind)
            {
                case 1:
                    body.AddRange(needle.ToArray());
                    break;
                case 2:
                    body.AddRange(needle[..(cut % needle.Length)].ToArray());
                    break;
                default:
                    body.AddRange(System.Text.Encoding.UTF8.GetBytes(filler));
                    break;
            }
        }
        return [.. body];
    }

    /// <summary>At every position, every needle that starts there is masked; each one counts.</summary>
    private static byte[] Model(CredentialNeedles needles, byte[] body, out int count)
    {
        var masked = body.ToArray();
        count = 0;
        for (var i = 0; i < body.Length; i++)
        {
            for (var n = 0; n < needles.Count; n++)
            {
                if (body.AsSpan(i).StartsWith(needles[n]))
                {
                    masked.AsSpan(i, needles[n].Length).Fill((byte)'*');
                    count++;
                }
            }
        }
        return masked;
    }
}
