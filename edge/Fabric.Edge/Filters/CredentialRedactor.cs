using System.Buffers;
using System.Text;

namespace Fabric.Edge.Filters;

/// <summary>
/// Masks every occurrence of a credential's needles with same-length runs of <c>*</c>, so a masked body keeps
/// its Content-Length and its JSON and SSE framing (<c>*</c> is neither a JSON nor an SSE delimiter).
/// Matches are found on the original bytes, so overlapping and nested matches (the raw value inside the
/// header value) are all masked; the count is one per needle per position.
/// </summary>
internal static class CredentialRedactor
{
    public const byte Mask = (byte)'*';

    /// <summary>Masks <paramref name="buffer"/> in place; returns the number of matches.</summary>
    public static int MaskInPlace(CredentialNeedles needles, Span<byte> buffer)
    {
        ArgumentNullException.ThrowIfNull(needles);
        if (needles.IsEmpty || Scan(needles, buffer, default, 0) == 0)
        {
            return 0;
        }
        // Masking while scanning would hide a needle that overlaps an earlier match: scan a copy.
        var original = ArrayPool<byte>.Shared.Rent(buffer.Length);
        try
        {
            buffer.CopyTo(original);
            return Scan(needles, original.AsSpan(0, buffer.Length), buffer, 0);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(original);
        }
    }

    /// <summary>
    /// Masks a header value; returns it unchanged (same instance) when nothing matched. A response header
    /// reaches the edge decoded as Latin-1 by default (SocketsHttpHandler), so a UTF-8 secret appears as one
    /// char per byte: the value is scanned as Latin-1 bytes, then as UTF-8 for values decoded that way.
    /// </summary>
    public static string MaskHeader(CredentialNeedles needles, string value, out int count)
    {
        ArgumentNullException.ThrowIfNull(needles);
        ArgumentNullException.ThrowIfNull(value);
        count = 0;
        if (needles.IsEmpty || value.Length == 0)
        {
            return value;
        }
        var result = value;
        if (!value.AsSpan().ContainsAnyExceptInRange('\0', '\u00FF'))
        {
            result = MaskAs(Encoding.Latin1, needles, result, ref count);
        }
        if (result.AsSpan().ContainsAnyExceptInRange('\0', '\u007F'))
        {
            result = MaskAs(Encoding.UTF8, needles, result, ref count);
        }
        return result;
    }

    private static string MaskAs(Encoding encoding, CredentialNeedles needles, string value, ref int count)
    {
        // Every response header passes here: pooled bytes, and a new string only when something was masked.
        var length = encoding.GetByteCount(value);
        var rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var bytes = rented.AsSpan(0, length);
            encoding.GetBytes(value, bytes);
            var found = MaskInPlace(needles, bytes);
            count += found;
            return found == 0 ? value : encoding.GetString(bytes);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Finds the needles in <paramref name="source"/> and masks the same positions of
    /// <paramref name="destination"/> (when not empty). Only matches ending after <paramref name="minEnd"/>
    /// count: a stream passes the length of its carry, whose complete matches it counted the write before.
    /// </summary>
    internal static int Scan(CredentialNeedles needles, ReadOnlySpan<byte> source, Span<byte> destination, int minEnd)
    {
        var count = 0;
        for (var n = 0; n < needles.Count; n++)
        {
            var needle = needles[n];
            var from = Math.Max(0, minEnd - needle.Length + 1);
            while (from <= source.Length - needle.Length)
            {
                var found = source[from..].IndexOf(needle);
                if (found < 0)
                {
                    break;
                }
                var start = from + found;
                if (!destination.IsEmpty)
                {
                    destination.Slice(start, needle.Length).Fill(Mask);
                }
                count++;
                from = start + 1;
            }
        }
        return count;
    }
}
