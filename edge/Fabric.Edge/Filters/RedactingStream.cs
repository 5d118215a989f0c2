using System.Buffers;

namespace Fabric.Edge.Filters;

/// <summary>
/// A write-only wrapper over the response body that masks a credential's needles while streaming.
/// YARP's <c>HttpForwarder</c> copies the upstream body with <c>WriteAsync</c> to
/// <c>HttpContext.Response.Body</c> and never flushes it, so released bytes are written through at once.
/// <code>
///   write(data):  window = carry ++ data            (carry: the held-back tail of the last write)
///                 mask every needle match in window (matches found on the original bytes)
///                 hold back the longest suffix that is a proper prefix of a needle
///                 write the rest through             ("...\n\n" ends no needle prefix: released whole)
///   complete:     write the carry out                (it turned out not to be a secret)
/// </code>
/// A write needs no copy when nothing is carried and nothing matches (the usual case). Call
/// <see cref="CompleteAsync"/> (or dispose) after the last write, or the held-back tail is lost.
/// </summary>
internal sealed class RedactingStream : Stream
{
    private readonly Stream _inner;
    private readonly CredentialNeedles _needles;
    // The held-back tail twice: as received (the next write may complete a needle in it) and as it will be
    // written (a match completed inside it is already masked there).
    private byte[] _carry = [];
    private byte[] _carryMasked = [];
    private int _carryLength;
    private byte[] _window = [];
    private byte[] _output = [];
    private bool _completed;
    private bool _disposed;

    public RedactingStream(Stream inner, CredentialNeedles needles)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(needles);
        _inner = inner;
        _needles = needles;
        if (!needles.IsEmpty)
        {
            _carry = ArrayPool<byte>.Shared.Rent(needles.MaxLength);
            _carryMasked = ArrayPool<byte>.Shared.Rent(needles.MaxLength);
        }
    }

    /// <summary>Needle matches masked so far (one per needle per position), for the audit record.</summary>
    public int Redactions { get; private set; }

    /// <summary>Bytes written to this stream but not yet to the inner one (they may start a secret).</summary>
    public int HeldBackBytes => _carryLength;

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => !_disposed;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        var (fromOutput, length) = Process(buffer);
        if (length > 0)
        {
            _inner.Write(fromOutput ? _output.AsSpan(0, length) : buffer[..length]);
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var (fromOutput, length) = Process(buffer.Span);
        return length == 0
            ? ValueTask.CompletedTask
            : _inner.WriteAsync(fromOutput ? _output.AsMemory(0, length) : buffer[..length], cancellationToken);
    }

    /// <summary>Flushes what has been released; held-back bytes stay held (they may be the start of a secret).</summary>
    public override void Flush() => _inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    /// <summary>Writes the held-back tail out: the body has ended, so it cannot become a secret.</summary>
    public async ValueTask CompleteAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_completed)
        {
            return;
        }
        _completed = true;
        if (_carryLength > 0)
        {
            var length = _carryLength;
            _carryLength = 0;
            await _inner.WriteAsync(_carryMasked.AsMemory(0, length), cancellationToken);
        }
    }

    /// <summary>
    /// Drops the held-back tail unwritten (after a failed or refused exchange: what is held may be the start of a
    /// secret, and the agent's side may be gone). Completes the stream; disposing it then writes nothing.
    /// </summary>
    public void Abandon()
    {
        _completed = true;
        _carryLength = 0;
    }

    /// <summary>
    /// Masks <paramref name="data"/> against the carry and says what to write: a prefix of the caller's
    /// buffer (nothing carried, nothing matched) or of <see cref="_output"/>.
    /// </summary>
    private (bool FromOutput, int Length) Process(ReadOnlySpan<byte> data)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_completed)
        {
            throw new InvalidOperationException("The redacting stream has been completed.");
        }
        if (_needles.IsEmpty)
        {
            return (false, data.Length);
        }
        if (data.IsEmpty)
        {
            return (false, 0);
        }

        if (_carryLength == 0)
        {
            var matches = CredentialRedactor.Scan(_needles, data, default, 0);
            if (matches == 0)
            {
                return (false, Hold(data, data));
            }
            var output = Rent(ref _output, data.Length);
            data.CopyTo(output);
            Redactions += CredentialRedactor.Scan(_needles, data, output, 0);
            return (true, Hold(data, output));
        }

        var carried = _carryLength;
        var length = carried + data.Length;
        var window = Rent(ref _window, length);
        var masked = Rent(ref _output, length);
        _carry.AsSpan(0, carried).CopyTo(window);
        data.CopyTo(window[carried..]);
        _carryMasked.AsSpan(0, carried).CopyTo(masked);
        data.CopyTo(masked[carried..]);
        // Matches ending inside the carry were complete in the last write's window: counted and masked there.
        Redactions += CredentialRedactor.Scan(_needles, window, masked, carried);
        return (true, Hold(window, masked));
    }

    /// <summary>Keeps the pending-prefix tail as the next carry; returns how many bytes are released.</summary>
    private int Hold(ReadOnlySpan<byte> original, ReadOnlySpan<byte> masked)
    {
        var held = _needles.PendingPrefixLength(original);
        var released = original.Length - held;
        original[released..].CopyTo(_carry);
        masked[released..].CopyTo(_carryMasked);
        _carryLength = held;
        return released;
    }

    private static Span<byte> Rent(ref byte[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            if (buffer.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
            buffer = ArrayPool<byte>.Shared.Rent(length);
        }
        return buffer.AsSpan(0, length);
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    public override async ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            await CompleteAsync();
        }
        // Stream.DisposeAsync runs Dispose(true): buffers back to the pool; the carry is already written.
        await base.DisposeAsync();
    }

    /// <summary>
    /// Writes the carry synchronously if <see cref="CompleteAsync"/> was not called (as BufferedStream
    /// flushes on dispose); Kestrel refuses synchronous writes by default, so prefer <see cref="DisposeAsync"/>.
    /// The inner stream belongs to the server and is not disposed.
    /// </summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            try
            {
                if (!_completed && _carryLength > 0)
                {
                    _completed = true;
                    _inner.Write(_carryMasked.AsSpan(0, _carryLength));
                    _carryLength = 0;
                }
            }
            finally
            {
                _disposed = true;
                foreach (var buffer in new[] { _carry, _carryMasked, _window, _output })
                {
                    if (buffer.Length > 0)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                    }
                }
                _carry = _carryMasked = _window = _output = [];
            }
        }
        base.Dispose(disposing);
    }
}
