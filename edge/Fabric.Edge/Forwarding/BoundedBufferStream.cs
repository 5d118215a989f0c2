namespace Fabric.Edge.Forwarding;

/// <summary>A write-only in-memory buffer that refuses to grow past a limit (for answers the edge must see whole: lists, blocked reflection).</summary>
internal sealed class BoundedBufferStream(int limit) : Stream
{
    private readonly MemoryStream _inner = new();

    public ReadOnlySpan<byte> WrittenSpan => _inner.GetBuffer().AsSpan(0, (int)_inner.Length);

    /// <summary>The written bytes, writable (redaction masks them in place).</summary>
    public Span<byte> WrittenBytes => _inner.GetBuffer().AsSpan(0, (int)_inner.Length);

    /// <summary>True once a write would have passed the limit: the answer is too large, whatever error the writer saw.</summary>
    public bool Exceeded { get; private set; }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => _inner.Length;
    public override long Position { get => _inner.Position; set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (_inner.Length + buffer.Length > limit)
        {
            Exceeded = true;
            throw new IOException($"the list response exceeds {limit} bytes");
        }
        _inner.Write(buffer);
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Write(buffer.AsSpan(offset, count));
        return Task.CompletedTask;
    }

    public override void Flush() { }
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }
        base.Dispose(disposing);
    }
}
