using System.Buffers;
using System.Text.Json;
using Fabric.Contracts.Policy;

namespace Fabric.Edge.Mcp;

/// <summary>The text/event-stream half of <see cref="ListResultFilter"/>.</summary>
internal static partial class ListResultFilter
{
    /// <summary>
    /// The SSE side (WHATWG HTML, "Server-sent events", §9.2.6 interpreting an event stream): lines end in
    /// CRLF, LF or CR; a blank line dispatches the event; <c>data</c> field values are joined with LF; one
    /// space after the colon is not part of the value; lines starting with ':' are comments. Each event is
    /// copied verbatim unless its data is a message that needed cuts; then only its data lines are rewritten,
    /// in place, keeping <c>event:</c>, <c>id:</c>, <c>retry:</c> and comments where they were.
    /// </summary>
    private static class SseFilter
    {
        private static ReadOnlySpan<byte> Bom => [0xEF, 0xBB, 0xBF];

        /// <returns>False when some event's data does not parse: the whole answer is refused.</returns>
        public static bool Filter(ReadOnlySpan<byte> stream, ListItemFilter isVisible, IBufferWriter<byte> output, ref Counts counts)
        {
            var data = new ArrayBufferWriter<byte>(Math.Min(Math.Max(stream.Length, 16), 64 * 1024));
            var rewritten = new ArrayBufferWriter<byte>(Math.Min(Math.Max(stream.Length, 16), 64 * 1024));
            var position = 0;
            if (stream.StartsWith(Bom))
            {
                // "One leading U+FEFF BYTE ORDER MARK character must be ignored if any are present."
                output.Write(Bom);
                position = Bom.Length;
            }

            while (position < stream.Length)
            {
                var blockStart = position;
                var hasData = false;
                data.ResetWrittenCount();
                while (position < stream.Length)
                {
                    var lineEnd = LineEnd(stream, position, out var next);
                    var line = stream[position..lineEnd];
                    position = next;
                    if (line.IsEmpty)
                    {
                        break;
                    }

                    if (IsData(line, out var value))
                    {
                        if (hasData)
                        {
                            data.Write("\n"u8);
                        }

                        data.Write(value);
                        hasData = true;
                    }
                }

                // A final event without its blank line is not dispatched by a conforming client, but a lenient
                // one might: it is filtered like any other.
                var block = stream[blockStart..position];
                var payload = data.WrittenSpan;
                if (!hasData || payload.Trim(" \t\r\n"u8).IsEmpty)
                {
                    // No message: keep-alives, comments, 2025-11-25 priming events ("an event ID and an empty
                    // data field", Streamable HTTP "Resumability").
                    output.Write(block);
                    continue;
                }

                if (!IsValidJson(payload))
                {
                    // Cannot tell what the client would make of it: nothing of this answer is passed on.
                    counts.Malformed = true;
                    return false;
                }

                var editsBefore = counts.Edits;
                rewritten.ResetWrittenCount();
                RewriteMessage(payload, isVisible, rewritten, ref counts);
                if (counts.Edits == editsBefore)
                {
                    output.Write(block);
                }
                else
                {
                    WriteRewritten(block, rewritten.WrittenSpan, output);
                }
            }

            return true;
        }

        private static void WriteRewritten(ReadOnlySpan<byte> block, ReadOnlySpan<byte> payload, IBufferWriter<byte> output)
        {
            var wroteData = false;
            var position = 0;
            while (position < block.Length)
            {
                var lineEnd = LineEnd(block, position, out var next);
                var line = block[position..lineEnd];
                var terminator = block[lineEnd..next];
                position = next;
                if (!IsData(line, out _))
                {
                    output.Write(line);
                    output.Write(terminator);
                    continue;
                }

                if (wroteData)
                {
                    continue;
                }

                // The new payload goes where the first data line was, one "data: " line per LF it contains
                // (a pretty-printed payload spread over several data lines stays spread).
                wroteData = true;
                var rest = payload;
                int newline;
                while ((newline = rest.IndexOf((byte)'\n')) >= 0)
                {
                    output.Write("data: "u8);
                    output.Write(rest[..newline]);
                    output.Write(terminator.IsEmpty ? "\n"u8 : terminator);
                    rest = rest[(newline + 1)..];
                }

                output.Write("data: "u8);
                output.Write(rest);
                output.Write(terminator);
            }
        }

        /// <summary>End of the line starting at <paramref name="start"/>; <paramref name="next"/> is past its CRLF / LF / CR.</summary>
        private static int LineEnd(ReadOnlySpan<byte> stream, int start, out int next)
        {
            var index = stream[start..].IndexOfAny((byte)'\r', (byte)'\n');
            if (index < 0)
            {
                next = stream.Length;
                return stream.Length;
            }

            var end = start + index;
            next = stream[end] == (byte)'\r' && end + 1 < stream.Length && stream[end + 1] == (byte)'\n' ? end + 2 : end + 1;
            return end;
        }

        /// <summary>True for a <c>data</c> field; <paramref name="value"/> is its value minus one leading space.</summary>
        private static bool IsData(ReadOnlySpan<byte> line, out ReadOnlySpan<byte> value)
        {
            var colon = line.IndexOf((byte)':');
            var field = colon < 0 ? line : line[..colon];
            if (!field.SequenceEqual("data"u8))
            {
                value = default;
                return false;
            }

            value = colon < 0 ? default : line[(colon + 1)..];
            if (!value.IsEmpty && value[0] == (byte)' ')
            {
                value = value[1..];
            }

            return true;
        }
    }

    /// <summary>Copies the source to the output in order, skipping the cut ranges.</summary>
    private ref struct Copier(ReadOnlySpan<byte> source, IBufferWriter<byte> output)
    {
        private readonly ReadOnlySpan<byte> _source = source;

        /// <summary>The message being copied.</summary>
        public readonly ReadOnlySpan<byte> Source => _source;
        private int _copied;

        /// <summary>Writes what lies before <paramref name="from"/>, then skips to <paramref name="to"/>.</summary>
        public void CutFrom(int from, int to)
        {
            if (from > _copied)
            {
                output.Write(_source[_copied..from]);
            }

            _copied = Math.Max(_copied, to);
        }

        /// <summary>Skips whatever lies between the copy position and <paramref name="to"/>.</summary>
        public void Skip(int to) => _copied = Math.Max(_copied, to);

        public void Replace(int from, int to, ReadOnlySpan<byte> replacement)
        {
            CutFrom(from, to);
            output.Write(replacement);
        }

        public void CopyRest()
        {
            output.Write(_source[_copied..]);
            _copied = _source.Length;
        }
    }
}
