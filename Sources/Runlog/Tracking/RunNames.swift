/// Readable run names, as MLflow gives them: an adjective, an animal and a number
/// ("brave-owl-417").
public enum RunNames {
    static let adjectives = [
        "agile", "amber", "bold", "brave", "bright", "calm", "clever", "crisp", "daring", "eager", "fancy", "fleet",
        "gentle", "glad", "golden", "grand", "happy", "honest", "keen", "kind", "lively", "lucky", "merry", "mighty",
        "nimble", "noble", "polite", "proud", "quick", "quiet", "rapid", "sharp", "shiny", "silent", "smooth", "steady",
        "sunny", "swift", "tidy", "vivid", "warm", "wise", "witty", "zesty",
    ]
    static let animals = [
        "ant", "bat", "bear", "bee", "bison", "cat", "colt", "crab", "crow", "deer", "dove", "eel", "elk", "fox",
        "frog", "gnu", "goat", "hare", "hawk", "heron", "ibis", "koala", "lark", "lynx", "mole", "moth", "newt", "owl",
        "panda", "puma", "quail", "ram", "robin", "seal", "shrew", "slug", "snail", "swan", "toad", "trout", "vole",
        "wasp", "whale", "wolf", "wren", "yak", "zebra",
    ]

    public static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        let adjective = adjectives.randomElement(using: &generator)!
        let animal = animals.randomElement(using: &generator)!
        return "\(adjective)-\(animal)-\(Int.random(in: 0..<1000, using: &generator))"
    }
}
