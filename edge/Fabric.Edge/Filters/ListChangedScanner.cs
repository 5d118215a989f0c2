using Fabric.Contracts.Servers;

namespace Fabric.Edge.Filters;

/// <summary>
/// Passes a locked server's answer through unchanged and watches it for <c>notifications/tools/list_changed</c> (and
/// the prompts and resources ones): the server's own word that a list changed (issue 12 §1). A match is reported at
/// most once per list per answer; a name cut across two writes is still seen (the tail of each write is kept).
/// </summary>
internal sealed class ListChangedScanner(Stream inner, Action<LockedList> changed) : Stream
{
    private static readonly (byte[] Pattern, LockedList List)[] Signals =
    [
        ("notifications/tools/list_changed"u8.ToArray(), LockedList.Tools),
        ("notifications/prompts/list_changed"u8.ToArray(), LockedList.Prompts),
        ("notifications/resources/list_changed"u8.ToArray(), LockedList.ResourceTemplates),
    ];

    private static readonly int Longest = Signals.Max(s => s.Pattern.Length);
    private readonly byte[] _window = new byte[Longest * 2];
    private int _carry;
    private readonly HashSet<LockedList> _seen = [];

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Scan(buffer);
        inner.Write(buffer);
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Scan(buffer.Span);
        await inner.WriteAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    private void Scan(ReadOnlySpan<byte> buffer)
    {
        if (_seen.Count == Signals.Length || buffer.IsEmpty)
        {
            return;
        }
        // The carried tail joined with the start of this write: a name that straddles the two.
        var head = buffer[..Math.Min(buffer.Length, Longest)];
        head.CopyTo(_window.AsSpan(_carry));
        var joined = _carry + head.Length;
        Check(_window.AsSpan(0, joined));
        Check(buffer);
        // Keep the last Longest - 1 bytes seen (of the carry and this write together when the write is short).
        if (buffer.Length >= Longest - 1)
        {
            buffer[^(Longest - 1)..].CopyTo(_window);
            _carry = Longest - 1;
        }
        else
        {
            var keep = Math.Min(joined, Longest - 1);
            _window.AsSpan(joined - keep, keep).CopyTo(_window);
            _carry = keep;
        }
    }

    private void Check(ReadOnlySpan<byte> span)
    {
        foreach (var (pattern, list) in Signals)
        {
            if (!_seen.Contains(list) && span.IndexOf(pattern) >= 0)
            {
                _seen.Add(list);
                changed(list);
            }
        }
    }
}
