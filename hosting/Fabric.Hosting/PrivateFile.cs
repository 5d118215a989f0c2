namespace Fabric.Hosting;

/// <summary>Files only their owner may read (0600): the admin token, keys, the CA, join tokens.</summary>
public static class PrivateFile
{
    /// <summary>Creates <paramref name="path"/> with <paramref name="content"/> unless it exists; false when it already did.</summary>
    public static bool TryCreate(string path, string content)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        try
        {
            using var stream = new FileStream(path, Options(FileMode.CreateNew));
            using var writer = new StreamWriter(stream);
            writer.Write(content);
            return true;
        }
        catch (IOException) when (File.Exists(path))
        {
            return false;
        }
    }

    /// <summary>
    /// Replaces <paramref name="path"/> atomically: written to a fresh 0600 file beside it, then renamed over it,
    /// so a reader sees the old content or the new, never a torn or briefly world-readable one.
    /// </summary>
    public static void Replace(string path, string content)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temporary = path + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        try
        {
            using (var stream = new FileStream(temporary, Options(FileMode.CreateNew)))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(content);
            }
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    private static FileStreamOptions Options(FileMode mode)
    {
        var options = new FileStreamOptions { Mode = mode, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        return options;
    }
}
