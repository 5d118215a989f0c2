namespace Fabric.Contracts;

/// <summary>
/// Field errors keyed by the JSON path of the offending value (<c>rules[0].effect</c>, <c>credential.inject.header</c>),
/// several messages per field, as every validator reports them and the API answers them (400 problem details).
/// </summary>
public sealed class FieldErrors
{
    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);

    /// <summary>Adds <paramref name="message"/> under <paramref name="key"/>; a null message (a check that passed) adds nothing.</summary>
    public void Add(string key, string? message)
    {
        if (message is null)
        {
            return;
        }
        if (!_errors.TryGetValue(key, out var messages))
        {
            _errors[key] = messages = [];
        }
        messages.Add(message);
    }

    public IReadOnlyDictionary<string, string[]> ToDictionary() =>
        _errors.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal);
}
