namespace Fabric.Cli;

/// <summary>Files only their owner may read (0600 from the moment they exist): the login, a minted SVID's key.</summary>
internal static class PrivateFiles
{
    public static FileStream Create(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return new FileStream(path, FileMode.Create, FileAccess.Write);
        }
        var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        // An existing file keeps its mode on FileMode.Create: narrow it too.
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return stream;
    }
}
