namespace Xar.Runtime.Tests;

public sealed class ErrorLineTests
{
    [Fact]
    public void Short_messages_are_unchanged()
    {
        string message = "/srv/app.xar: cannot open: " + new string('x', 150) + " and more words after it";

        ErrorLine.Shorten(message).Should().Be(message);
    }

    [Fact]
    public void Only_words_longer_than_the_limit_are_shortened_keeping_head_and_tail()
    {
        string path = "/" + string.Concat(Enumerable.Repeat("deep/", 100)) + "app.xar:";

        string shortened = ErrorLine.Shorten($"{path} cannot open: {path}");

        string expected = path[..99] + "…" + path[^100..];
        shortened.Should().Be($"{expected} cannot open: {expected}");
        expected.Length.Should().Be(ErrorLine.MaxWordLength);
    }

    [Fact]
    public void A_surrogate_pair_at_a_cut_is_kept_whole()
    {
        string word = new string('a', 98) + "😀" + new string('b', 200) + "😀" + new string('c', 99);

        string shortened = ErrorLine.Shorten(word);

        shortened.Should().Be(new string('a', 98) + "…" + new string('c', 99));
        shortened.Where(char.IsSurrogate).Should().BeEmpty();
    }
}
