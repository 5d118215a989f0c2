using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using Fabric.Contracts.Policy;
using Fabric.Contracts.Servers;

namespace Fabric.Edge.Launch;

/// <summary>The process's pipes: lines written to its stdin under one lock, its stdout matched back to the requests
/// waiting for them (or answered and dropped when it starts something of its own), its stderr to the edge log.</summary>
internal sealed partial class StdioProcess
{
    private Task CancelAsync(long bridged) => WriteLineSafeAsync(Encoding.UTF8.GetBytes(
        $$$"""{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":{{{bridged}}},"reason":"the agent went away"}}""" + "\n"));

    private async Task WriteLineSafeAsync(byte[] line)
    {
        try
        {
            await WriteLineAsync(line, CancellationToken.None);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The process is going away; nothing left to tell it.
        }
    }

    private async Task WriteLineAsync(byte[] line, CancellationToken cancellationToken)
    {
        if (line[^1] != (byte)'\n')
        {
            line = [.. line, (byte)'\n'];
        }
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            await _stdin.WriteAsync(line, cancellationToken);
            await _stdin.FlushAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            throw new LaunchException(ReasonCodes.LaunchFailed, $"'{Server.Name}' closed its stdin");
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task ReadStdoutAsync()
    {
        var reader = PipeReader.Create(_process.StandardOutput.BaseStream, new StreamPipeReaderOptions(bufferSize: 64 * 1024));
        try
        {
            while (true)
            {
                var read = await reader.ReadAsync();
                var buffer = read.Buffer;
                while (buffer.PositionOf((byte)'\n') is { } end)
                {
                    var line = buffer.Slice(0, end);
                    if (line.Length > _maxLine)
                    {
                        Violation($"a line of {line.Length} bytes exceeds the {_maxLine} the edge reads");
                        return;
                    }
                    HandleLine(line.IsSingleSegment ? line.FirstSpan : line.ToArray());
                    buffer = buffer.Slice(buffer.GetPosition(1, end));
                }
                if (buffer.Length > _maxLine)
                {
                    Violation($"more than {_maxLine} bytes without a newline");
                    return;
                }
                reader.AdvanceTo(buffer.Start, buffer.End);
                if (read.IsCompleted)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // stdout closed under the reader: the exit watcher reports the end.
        }
        finally
        {
            await reader.CompleteAsync();
        }
    }

    private void HandleLine(ReadOnlySpan<byte> line)
    {
        line = line.TrimEnd((byte)'\r');
        if (line.IsEmpty)
        {
            return;
        }
        var shape = JsonRpcLines.Inspect(line);
        if (!shape.Valid)
        {
            Interlocked.Increment(ref _droppedNotifications);
            LogNotJson(_logger, Server.Name, _process.Id);
            return;
        }
        if (shape.HasMethod)
        {
            Interlocked.Increment(ref _droppedNotifications);
            if (shape.Id is { } requestId)
            {
                // A server-initiated request (sampling, elicitation, roots): no agent is on the other end of it here.
                var answer = JsonRpcLines.WithId(NotRelayed, NotRelayedId, line[requestId]);
                _ = WriteLineSafeAsync(answer);
            }
            return;
        }
        if (shape.Id is { } id
            && long.TryParse(line[id], NumberStyles.None, CultureInfo.InvariantCulture, out var bridged)
            && _pending.TryRemove(bridged, out var pending))
        {
            pending.TrySetResult(line.ToArray());
            return;
        }
        // An answer to nothing the edge asked (or a request already given up): dropped.
        Interlocked.Increment(ref _droppedNotifications);
    }

    private void Violation(string what)
    {
        LogViolation(_logger, Server.Name, _process.Id, what);
        Kill();
    }

    private async Task ReadStderrAsync()
    {
        var windowStart = _time.GetUtcNow();
        var logged = 0;
        long suppressed = 0;
        try
        {
            using var stderr = _process.StandardError;
            var line = new StringBuilder();
            while (await stderr.ReadLineBoundedAsync(line, MaxStderrLine) is { } text)
            {
                var now = _time.GetUtcNow();
                if (now - windowStart >= StderrWindow)
                {
                    if (suppressed > 0)
                    {
                        LogStderrSuppressed(_logger, Server.Name, _process.Id, suppressed);
                    }
                    (windowStart, logged, suppressed) = (now, 0, 0);
                }
                if (++logged > _stderrLinesPerWindow)
                {
                    suppressed++;
                    continue;
                }
                LogStderr(_logger, Server.Name, _process.Id, SecretShapes.Mask(text));
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
        }
    }
}
