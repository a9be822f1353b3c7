/// Small pieces of English for messages, so that they read right: "1 unit", "2 units", "an Embedding".
public enum English {
    /// `count` and the noun, plural unless the count is 1 ("1 unit", "0 units"; `plural` when not noun + s).
    public static func count(_ count: Int, _ noun: String, plural: String? = nil) -> String {
        "\(count) \(count == 1 ? noun : plural ?? noun + "s")"
    }

    /// "a" or "an" before `word`, by its first letter (vowels take "an"); a word that starts with
    /// two capitals is spelt out ("an LSTM", "an RNN", "a GRU").
    public static func article(_ word: String) -> String {
        guard let first = word.first else { return "a" }
        if let second = word.dropFirst().first, first.isUppercase, second.isUppercase {
            return "AEFHILMNORSX".contains(first) ? "an" : "a"
        }
        return "aeiou".contains(first.lowercased()) ? "an" : "a"
    }

    /// The word with its article: "an Embedding", "a Dense".
    public static func withArticle(_ word: String) -> String { "\(article(word)) \(word)" }
}
