using System.Text;
using Spectre.Console;
using Xar.SquashFs;

namespace Xar.Cli;

/// <summary>
/// The progress display of long commands (build, squashfs create, extract) and the build summary
/// (docs/progress.md). Both go to stderr, and only when it is a terminal: stdout keeps only a
/// command's result (an archive with -o /dev/stdout, --json). The display is live (phase, items,
/// bytes, a bar) unless TERM is dumb; NO_COLOR takes its colours away. The work only adds to the
/// counters of an <see cref="OperationProgress"/>; Spectre.Console's refresh reads them.
/// </summary>
internal sealed class ProgressDisplay
{
    private readonly IAnsiConsole? _console;
    private readonly bool _live;

    private ProgressDisplay(IAnsiConsole? console, bool live)
    {
        _console = console;
        _live = live;
    }

    /// <summary>Whether the summary is shown (stderr is a terminal and not --quiet).</summary>
    public bool ShowsSummary => _console is not null;

    /// <summary>
    /// What a command shows on <paramref name="stderr"/>: nothing with --quiet or when it is not
    /// the process's terminal (a pipe, a file, a test's writer).
    /// </summary>
    public static ProgressDisplay For(TextWriter stderr, bool quiet)
    {
        if (quiet || !ReferenceEquals(stderr, Console.Error) || Console.IsErrorRedirected)
            return new ProgressDisplay(null, live: false);
        bool dumb = Environment.GetEnvironmentVariable("TERM") is null or "" or "dumb";
        bool noColor = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"));
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = dumb ? AnsiSupport.No : AnsiSupport.Yes,
            ColorSystem = noColor || dumb ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
            Interactive = dumb ? InteractionSupport.No : InteractionSupport.Yes,
            Out = new AnsiConsoleOutput(stderr),
        });
        return new ProgressDisplay(console, live: !dumb);
    }

    /// <summary>
    /// Runs <paramref name="work"/> under the live display of <paramref name="progress"/>. The work
    /// writes its warnings to the writer it is given: during the display, lines printed above it.
    /// </summary>
    public T Run<T>(OperationProgress progress, TextWriter stderr, Func<TextWriter, T> work)
    {
        if (!_live) return work(stderr);
        var console = _console!;
        // Interrupted, the process ends by its signal: the cursor the display hid must come back.
        using var showCursor = InterruptCleanup.Register(() => stderr.Write("\e[?25h"));
        return console.Progress()
            .AutoClear(true)
            .Columns(new SpinnerColumn(), new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(),
                new PercentageColumn(), new ElapsedTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask("starting", autoStart: true, maxValue: 1);
                task.IsIndeterminate = true;
                using var timer = new Timer(_ => Show(task, progress), null, TimeSpan.Zero, TimeSpan.FromMilliseconds(100));
                var result = work(new LineWriter(console));
                // The last state is drawn once before the display is cleared, however short the work was.
                Show(task, progress);
                context.Refresh();
                return result;
            });
    }

    /// <summary>The summary lines: one label and one value each.</summary>
    public void Summary(string title, IEnumerable<(string Label, string Value)> rows)
    {
        if (_console is null) return;
        var grid = new Grid().AddColumn(new GridColumn().PadRight(2)).AddColumn();
        foreach (var (label, value) in rows)
            grid.AddRow(new Text(label, new Style(decoration: Decoration.Bold)), new Text(value));
        _console.Write(new Text(title + Environment.NewLine, new Style(Color.Green)));
        _console.Write(grid);
    }

    private static void Show(ProgressTask task, OperationProgress progress)
    {
        long items = progress.Items, itemsTotal = progress.ItemsTotal, bytes = progress.Bytes, bytesTotal = progress.BytesTotal;
        var text = new StringBuilder(progress.Phase is { Length: > 0 } phase ? phase : "starting");
        if (itemsTotal > 0) text.Append($"  {items:N0}/{itemsTotal:N0}");
        if (bytesTotal > 0) text.Append($"  {CacheCommand.FormatSize(bytes)}/{CacheCommand.FormatSize(bytesTotal)}");
        if (progress.BytesWritten > 0) text.Append($"  → {CacheCommand.FormatSize(progress.BytesWritten)}");
        task.Description = Markup.Escape(text.ToString());
        // The bar follows bytes where the phase counts them, else items; a phase that counts neither spins.
        (double done, double total) = bytesTotal > 0 ? (bytes, bytesTotal) : (items, itemsTotal);
        task.IsIndeterminate = total <= 0;
        task.MaxValue = Math.Max(total, 1);
        task.Value = Math.Min(done, task.MaxValue);
    }

    /// <summary>Whole lines to the console, which prints them above the live display.</summary>
    private sealed class LineWriter(IAnsiConsole console) : TextWriter
    {
        private readonly StringBuilder _line = new();

        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value)
        {
            lock (_line)
            {
                if (value != '\n')
                {
                    _line.Append(value);
                    return;
                }
                console.WriteLine(_line.ToString());
                _line.Clear();
            }
        }

        public override void Write(string? value)
        {
            lock (_line)
                foreach (char c in value ?? "") Write(c);
        }

        public override void WriteLine(string? value)
        {
            lock (_line)
            {
                Write(value);
                Write('\n');
            }
        }
    }
}
