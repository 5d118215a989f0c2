using System.Buffers;
using System.Text;

namespace Fabric.Edge.Filters;

/// <summary>
/// The byte sequences that betray a spliced credential in a response: for each value (the raw secret and
/// the whole injected header value, e.g. <c>Bearer sk-…</c>) its raw UTF-8 form and the forms an echo or an
/// error message turns it into (<see cref="CredentialForms"/>). Built once per credential, immutable, shared
/// by every response of that credential. <see cref="ToString"/> never shows a value.
/// </summary>
/// <remarks>
/// Needles shorter than <see cref="MinimumNeedleBytes"/> are kept only when their value is itself that
/// short. Every encoding is at least as long as its value, so in practice that means: a short credential
/// is still masked everywhere, in every form. Masking a 3-byte string in every response destroys answers,
/// so a credential shorter than 8 bytes should be refused where the binding is accepted; the redactor
/// still masks it (failing closed: a mangled answer is cheaper than a leaked secret) and reports
/// <see cref="HasShortValue"/> so the integrator can log it.
/// </remarks>
internal sealed class CredentialNeedles
{
    public const int MinimumNeedleBytes = 8;

    private readonly byte[][] _needles;
    private readonly SearchValues<byte> _firstBytes;

    private CredentialNeedles(byte[][] needles, int values, bool hasShortValue)
    {
        _needles = needles;
        ValueCount = values;
        HasShortValue = hasShortValue;
        MaxLength = needles.Length == 0 ? 0 : needles.Max(n => n.Length);
        _firstBytes = SearchValues.Create(needles.Select(n => n[0]).Distinct().ToArray());
    }

    public static CredentialNeedles Empty { get; } = new([], 0, false);

    public int Count => _needles.Length;
    public bool IsEmpty => _needles.Length == 0;
    public int ValueCount { get; }
    public bool HasShortValue { get; }

    /// <summary>The longest needle in bytes; a stream holds back at most one byte less than this.</summary>
    public int MaxLength { get; }

    internal ReadOnlySpan<byte> this[int index] => _needles[index];

    /// <summary>Builds the needles of the given values; empty values are ignored (they would match everywhere).</summary>
    public static CredentialNeedles For(IEnumerable<string> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var forms = new HashSet<string>(StringComparer.Ordinal);
        var needles = new List<byte[]>();
        var count = 0;
        var hasShortValue = false;
        foreach (var value in values)
        {
            ArgumentNullException.ThrowIfNull(value);
            if (value.Length == 0)
            {
                continue;
            }
            count++;
            var isShort = Encoding.UTF8.GetByteCount(value) < MinimumNeedleBytes;
            hasShortValue |= isShort;
            foreach (var form in CredentialForms.Of(value))
            {
                if (!forms.Add(form))
                {
                    continue;
                }
                var bytes = Encoding.UTF8.GetBytes(form);
                if (bytes.Length >= MinimumNeedleBytes || isShort)
                {
                    needles.Add(bytes);
                }
            }
        }
        return needles.Count == 0 ? Empty : new CredentialNeedles([.. needles], count, hasShortValue);
    }

    /// <summary>
    /// The length of the longest suffix of <paramref name="window"/> that is a proper prefix of some needle:
    /// the bytes a stream must hold back because the next write may complete a secret.
    /// </summary>
    internal int PendingPrefixLength(ReadOnlySpan<byte> window)
    {
        var tail = window[^Math.Min(window.Length, MaxLength - 1)..];
        var offset = 0;
        while (offset < tail.Length)
        {
            var found = tail[offset..].IndexOfAny(_firstBytes);
            if (found < 0)
            {
                return 0;
            }
            var suffix = tail[(offset + found)..];
            foreach (var needle in _needles)
            {
                if (needle.Length > suffix.Length && needle.AsSpan(0, suffix.Length).SequenceEqual(suffix))
                {
                    return suffix.Length;
                }
            }
            offset += found + 1;
        }
        return 0;
    }

    public override string ToString() => $"CredentialNeedles(values={ValueCount}, needles={Count}, value=***)";
}
