using System.Diagnostics;
using System.Globalization;
using Fabric.Bench.Fabric;

namespace Fabric.Bench.Baselines;

/// <summary>
/// nginx as an mTLS reverse proxy, a child process with a generated config in a temp directory:
/// <c>ssl_verify_client on</c> against the fabric bundle in, <c>proxy_ssl_certificate</c> +
/// <c>proxy_ssl_verify on</c> out, keep-alive upstream connections. nginx speaks HTTP/1.1 to its
/// upstreams (no HTTP/2 proxying in 1.22). Absent nginx → <see cref="StartAsync"/> returns null
/// with the reason, and the nginx columns are skipped.
/// </summary>
internal sealed class NginxProxy(Process process, string directory, Uri baseUrl) : IDisposable
{
    public Uri BaseUrl { get; } = baseUrl;

    /// <summary>The master and its workers, for CPU accounting.</summary>
    public int MasterPid => process.Id;

    public static async Task<(NginxProxy? Proxy, string? Skipped)> StartAsync(Svid svid, BenchPki pki, Uri upstream, CancellationToken cancellationToken)
    {
        var binary = FindOnPath("nginx");
        if (binary is null)
        {
            return (null, "nginx not found on PATH (apt-get install nginx-light to include it)");
        }
        var directory = Directory.CreateTempSubdirectory("fabric-bench-nginx-").FullName;
        if (!OperatingSystem.IsWindows())
        {
            // nginx workers may run as another user: let them use the temp paths.
            File.SetUnixFileMode(directory, (UnixFileMode)0x1FF);
        }
        await File.WriteAllTextAsync(Path.Combine(directory, "bundle.pem"), pki.BundlePem, cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(directory, "svid.pem"), svid.CertificatePem, cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(directory, "svid.key"), svid.PrivateKeyPem, cancellationToken);
        var port = FreePort.Next();
        await File.WriteAllTextAsync(Path.Combine(directory, "nginx.conf"), Config(directory, port, upstream.Port), cancellationToken);

        var start = new ProcessStartInfo(binary, ["-p", directory, "-c", Path.Combine(directory, "nginx.conf")])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException("nginx did not start");
        var proxy = new NginxProxy(process, directory, new Uri($"https://localhost:{port}"));
        // Ready when the port accepts connections (bounded: 5 s).
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(5))
        {
            if (process.HasExited)
            {
                var error = await process.StandardError.ReadToEndAsync(cancellationToken);
                proxy.Dispose();
                return (null, "nginx exited at start: " + error.Trim());
            }
            try
            {
                using var probe = new System.Net.Sockets.TcpClient();
                await probe.ConnectAsync("127.0.0.1", port, cancellationToken);
                return (proxy, null);
            }
            catch (System.Net.Sockets.SocketException)
            {
                await Task.Delay(50, cancellationToken);
            }
        }
        proxy.Dispose();
        return (null, "nginx did not listen within 5 s");
    }

    private static string Config(string directory, int port, int upstreamPort) => string.Create(CultureInfo.InvariantCulture, $$"""
        daemon off;
        master_process on;
        worker_processes auto;
        pid {{directory}}/nginx.pid;
        error_log {{directory}}/error.log warn;
        events { worker_connections 4096; }
        http {
            access_log off;
            client_body_temp_path {{directory}}/body;
            proxy_temp_path {{directory}}/proxy;
            fastcgi_temp_path {{directory}}/fastcgi;
            uwsgi_temp_path {{directory}}/uwsgi;
            scgi_temp_path {{directory}}/scgi;
            client_body_buffer_size 64k;
            client_max_body_size 2m;
            keepalive_requests 1000000;
            http2_max_requests 1000000;
            upstream mcp {
                server 127.0.0.1:{{upstreamPort}};
                keepalive 128;
                keepalive_requests 1000000;
            }
            server {
                listen 127.0.0.1:{{port}} ssl http2;
                ssl_certificate {{directory}}/svid.pem;
                ssl_certificate_key {{directory}}/svid.key;
                ssl_client_certificate {{directory}}/bundle.pem;
                ssl_verify_client on;
                ssl_verify_depth 3;
                ssl_protocols TLSv1.2 TLSv1.3;
                location / {
                    proxy_pass https://mcp;
                    proxy_http_version 1.1;
                    proxy_set_header Connection "";
                    proxy_set_header Host localhost;
                    proxy_ssl_certificate {{directory}}/svid.pem;
                    proxy_ssl_certificate_key {{directory}}/svid.key;
                    proxy_ssl_trusted_certificate {{directory}}/bundle.pem;
                    proxy_ssl_verify on;
                    proxy_ssl_verify_depth 3;
                    proxy_ssl_name localhost;
                    proxy_ssl_server_name on;
                    proxy_ssl_session_reuse on;
                    proxy_buffering off;
                }
            }
        }
        """);

    private static string? FindOnPath(string name)
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/sbin"]))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    public void Dispose()
    {
        // Our own child, by pid: the master and its workers.
        PinnedProcess.Stop(process);
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
