using Fabric.Cli;

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};
try
{
    return await CliApp.RunAsync(args, CliIo.System, cancel.Token);
}
catch (OperationCanceledException) when (cancel.IsCancellationRequested)
{
    return ExitCodes.Ok;
}
