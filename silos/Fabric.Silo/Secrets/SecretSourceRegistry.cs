namespace Fabric.Silo.Secrets;

/// <summary>The configured secret sources by binding <c>source</c> name.</summary>
public sealed class SecretSourceRegistry(IEnumerable<ISecretSource> sources)
{
    private readonly Dictionary<string, ISecretSource> _sources = sources.ToDictionary(s => s.Source, StringComparer.Ordinal);

    public IReadOnlyCollection<string> Names => _sources.Keys;

    public IEnumerable<ISecretSource> All => _sources.Values;

    public bool TryGet(string source, [NotNullWhen(true)] out ISecretSource? secretSource) => _sources.TryGetValue(source, out secretSource);
}
