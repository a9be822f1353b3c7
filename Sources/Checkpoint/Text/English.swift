/// Small pieces of English for messages, so that they read right: "1 unit", "2 units", "an Embedding".
public enum English {
    /// `count` and the noun, plural unless the count is 1 ("1 unit", "0 units"; `plural` when not noun + s).
    public static func count(_ count: Int, _ noun: String, plural: String? = nil) -> String {
        "\(count) \(count == 1 ? noun : plural ?? noun + "s")"
    }

    /// "a" or "an" before `word`, by its first letter (vowels take "an").
    public static func article(_ word: String) -> String {
        guard let first = word.lowercased().first else { return "a" }
        return "aeiou".contains(first) ? "an" : "a"
    }

    /// The word with its article: "an Embedding", "a Dense".
    public static func withArticle(_ word: String) -> String { "\(article(word)) \(word)" }
}
