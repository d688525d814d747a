using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Hutch.Daemon.Exec;
using Hutch.Daemon.Templates;
using Hutch.Linux;
using Hutch.Runtime.Templates;
using Microsoft.Extensions.Logging;

namespace Hutch.Daemon.Builds;

/// <summary>What to build: the template's name and version, where the Dockerfile is in the context, and how.</summary>
/// <param name="Network">The build sandboxes' network policy; null: the package-registries preset.</param>
public sealed record TemplateBuildRequest(string Name, string? Version, string Dockerfile, IReadOnlyDictionary<string, string> BuildArgs, bool NoCache,
    NetworkPolicy? Network);

/// <summary>
/// Builds a template's version from a Dockerfile (docs/templates.md#building-from-a-dockerfile):
/// every RUN runs in a build sandbox whose root is the layers so far (a build step's state in the
/// build cache, named "@build:KEY"), and the sandbox's upper directory becomes the step's layer; a
/// COPY or ADD is a layer written from the context's tar. Each step's result is kept under a key
/// that hashes its parent's key, the instruction, the settings it sees and (COPY, ADD) the files it
/// copies, so a build again reruns only the steps from the first one that changed. The version is
/// recorded only when every step succeeded: a failed build leaves no template.
/// </summary>
public sealed class TemplateBuilder(TemplateStore store, TemplateRoots roots, LayerStore layers, SandboxLifecycle sandboxes, SandboxDirectory directory,
    ExecService exec, ILogger log, INetworkRefusals? network = null)
{
    private readonly TemplateStore _store = store;
    private readonly TemplateRoots _roots = roots;
    private readonly LayerStore _layers = layers;
    private readonly SandboxLifecycle _sandboxes = sandboxes;
    private readonly SandboxDirectory _directory = directory;
    private readonly ExecService _exec = exec;
    private readonly ILogger _log = log;
    private readonly INetworkRefusals? _network = network;

    /// <summary>How long a step's connections still open when its command ended get to close before its network events are read.</summary>
    private static readonly TimeSpan NetworkSettle = TimeSpan.FromSeconds(5);

    /// <summary>Most layers a template may have (Docker's limit; an overlay stacks up to 500).</summary>
    public const int MaxLayers = 127;

    private const int TailBytes = 4096;

    /// <summary>
    /// Reads the context and the Dockerfile (failures throw, before any event: the edge answers with
    /// a problem), then runs the steps, yielding their events; a step that fails ends the events with
    /// an error event and no template.
    /// </summary>
    public async IAsyncEnumerable<TemplateBuildEvent> BuildAsync(Stream contextTar, TemplateBuildRequest request,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        TemplateStore.CheckName(request.Name);
        if (request.Version is not null)
        {
            TemplateStore.CheckVersion(request.Version);
        }
        var spool = Path.Join(_roots.Paths.Templates, "builds");
        Directory.CreateDirectory(spool, PrivateFiles.DirectoryMode);
        var context = await BuildContext.OpenAsync(contextTar, spool, LayerLimits.Default, cancellationToken).ConfigureAwait(false);
        var ownedByTask = false;
        try
        {
            var text = context.ReadText(request.Dockerfile, Dockerfile.MaxBytes)
                ?? throw new HutchException(ErrorCodes.BuildContextInvalid, $"the build context has no '{request.Dockerfile}': put the Dockerfile in the context directory, or name it with ?dockerfile=");
            context.Ignore(context.ReadText(".dockerignore", Dockerfile.MaxBytes), BuildContext.Normalize(request.Dockerfile)!);
            var plan = BuildPlan.Read(text, request.BuildArgs);
            var channel = Channel.CreateBounded<TemplateBuildEvent>(new BoundedChannelOptions(64) { SingleReader = true, SingleWriter = true });
            var run = new BuildRun(this, plan, context, request, channel.Writer);
            ownedByTask = true;
            _ = Task.Run(() => run.RunAsync(cancellationToken), CancellationToken.None);
            await foreach (var e in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return e;
            }
        }
        finally
        {
            if (!ownedByTask)
            {
                await context.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>One build's steps, run apart from the reader of its events (a client that leaves stops the build).</summary>
    private sealed class BuildRun(TemplateBuilder builder, BuildPlan plan, BuildContext context, TemplateBuildRequest request, ChannelWriter<TemplateBuildEvent> events)
    {
        private BuildState _state = null!;
        private int _step;

        // What keeps this build's layers and cache entries from a prune until the template names them
        // (docs/design/0012-templates-layers.md, "Removing layers"): its layers are pinned, its cache keys held.
        private readonly LayerLease _lease = builder._layers.Lease();
        private readonly TemplateStore.BuildCacheHold _hold = builder._store.HoldBuildCache();
        private int _run;
        private int _cached;

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            try
            {
                _state = BuildState.From(plan, builder._store);
                foreach (var layer in _state.Layers)
                {
                    _lease.Pin(layer);
                }
                _step = 1;
                await events.WriteAsync(new BuildStepEvent(1, plan.StepCount, plan.From.Line, plan.From.Text), cancellationToken).ConfigureAwait(false);
                await events.WriteAsync(new BuildStepDoneEvent(1, null, 0), cancellationToken).ConfigureAwait(false);
                foreach (var warning in plan.Warnings)
                {
                    await events.WriteAsync(warning, cancellationToken).ConfigureAwait(false);
                }
                for (var i = 0; i < plan.Steps.Count; i++)
                {
                    var instruction = plan.Steps[i];
                    _step = i + 2;
                    await events.WriteAsync(new BuildStepEvent(_step, plan.StepCount, instruction.Line, instruction.Text), cancellationToken).ConfigureAwait(false);
                    var started = Environment.TickCount64;
                    var layer = await StepAsync(instruction, cancellationToken).ConfigureAwait(false);
                    await events.WriteAsync(new BuildStepDoneEvent(_step, layer, Environment.TickCount64 - started), cancellationToken).ConfigureAwait(false);
                }
                foreach (var unused in request.BuildArgs.Keys.Where(k => !plan.DeclaredArgs.Contains(k)))
                {
                    await events.WriteAsync(new BuildWarningEvent(0, $"--build-arg {unused} was given but no ARG declares it"), cancellationToken).ConfigureAwait(false);
                }
                var record = builder._store.Add(request.Name, request.Version, "dockerfile", _state.Manifest());
                var info = TemplateEndpoints.Info(record, builder._directory.Registry);
                await events.WriteAsync(new BuildFinishedEvent(info, _run, _cached), cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // The client left: the build stops; its sandbox is gone already.
            }
            catch (Exception e) when (e is CodedException)
            {
                var coded = (CodedException)e;
                var line = e switch
                {
                    DockerfileException d => d.Line,
                    BuildContextException c => c.Line,
                    _ => _step > 1 && _step - 2 < plan.Steps.Count ? plan.Steps[_step - 2].Line : plan.From.Line,
                };
                await events.WriteAsync(new BuildErrorEvent(coded.Code, coded.Message, _step, line == 0 ? null : line), CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                Log.BuildFailed(builder._log, request.Name, e);
                await events.WriteAsync(new BuildErrorEvent(ErrorCodes.Internal, $"step {_step}: the build failed: {e.Message}", _step), CancellationToken.None).ConfigureAwait(false);
            }
            finally
            {
                _hold.Dispose();
                _lease.Dispose();
                events.TryComplete();
                await context.DisposeAsync().ConfigureAwait(false);
            }
        }

        /// <summary>A step's state from the build cache, held (and its layers pinned) before it is read; null: run it.</summary>
        private TemplateManifest? Cached(string key)
        {
            _hold.Add(key);
            if (builder._store.GetBuildState(key) is not { } hit)
            {
                return null;
            }
            foreach (var layer in hit.Layers)
            {
                _lease.Pin(layer);
            }
            return hit;
        }

        /// <summary>Runs one instruction after FROM; returns the layer it added, if any.</summary>
        private async Task<string?> StepAsync(DockerfileInstruction instruction, CancellationToken cancellationToken)
        {
            var state = _state;
            switch (instruction.Keyword)
            {
                case "RUN":
                    return await RunAsync(instruction, cancellationToken).ConfigureAwait(false);
                case "COPY":
                case "ADD":
                    return await CopyAsync(instruction, cancellationToken).ConfigureAwait(false);
                default:
                    _state = state.Apply(instruction, plan, request.BuildArgs);
                    return null;
            }
        }

        private async Task<string?> RunAsync(DockerfileInstruction instruction, CancellationToken cancellationToken)
        {
            var (flags, command) = instruction.SplitFlags();
            if (flags.Count > 0)
            {
                throw new DockerfileException($"line {instruction.Line}: RUN --{flags.Keys.First()} is not supported by Hutch: write the RUN without it", instruction.Line);
            }
            var key = _state.KeyAfter(instruction.Text);
            if (!request.NoCache && Cached(key) is { } hit)
            {
                _cached++;
                await events.WriteAsync(new BuildCachedEvent(_step), cancellationToken).ConfigureAwait(false);
                var cachedLayer = hit.Layers.Length > _state.Layers.Length ? hit.Layers[^1] : null;
                _state = _state.WithLayers(hit.Layers, key);
                return cachedLayer;
            }
            var sandboxUser = _state.SandboxUser(builder.LayerDirs(_state.Layers), instruction.Line);
            _hold.Add(_state.Key);
            builder._store.PutBuildState(_state.Key, _state.Manifest());
            var argv = instruction.Json ?? ["/bin/sh", "-c", command];
            string[] wrapped = ["/bin/sh", "-c", "[ -d \"$0\" ] || mkdir -p \"$0\"; cd \"$0\" && exec \"$@\"", _state.WorkingDir ?? "/", .. argv];
            var argEnv = _state.ArgsNotInEnv();
            var network = request.Network ?? new NetworkPolicy(NetworkModes.Allowlist, Preset: NetworkPresets.PackageRegistries);
            var sandbox = await builder._sandboxes.CreateAsync(new CreateSandboxRequest(User: sandboxUser, Network: network), null, cancellationToken, buildRoot: _state.Key)
                .ConfigureAwait(false);
            try
            {
                var networkMark = builder._network?.Mark(sandbox.Id) ?? -1;
                var tail = new OutputTail(TailBytes);
                int? exitCode = null;
                string? signal = null;
                await foreach (var e in builder._exec.StreamAsync(sandbox.Id, new ExecRequest(Argv: wrapped, Env: argEnv, KillOnDisconnect: true), null, cancellationToken)
                    .ConfigureAwait(false))
                {
                    switch (e)
                    {
                        case CommandOutput o:
                            var bytes = o.Data.ToArray();
                            tail.Add(bytes);
                            await events.WriteAsync(new BuildOutputEvent(_step, bytes), cancellationToken).ConfigureAwait(false);
                            break;
                        case CommandExited x:
                            (exitCode, signal) = (x.ExitCode, x.Signal);
                            break;
                        case CommandFailed f:
                            throw f.Error;
                    }
                }
                // What the step reached and what it was refused, before its sandbox (and the log) goes:
                // the first place to look when apt-get or pip fails for want of a host.
                if (builder._network is { } egress)
                {
                    foreach (var e in await egress.SettledSinceAsync(sandbox.Id, networkMark, NetworkSettle, cancellationToken).ConfigureAwait(false))
                    {
                        await events.WriteAsync(new BuildNetworkEvent(_step, e), cancellationToken).ConfigureAwait(false);
                    }
                }
                if (exitCode != 0)
                {
                    var how = signal is not null ? $"was ended by {signal}" : $"exited with {exitCode}";
                    throw new HutchException(ErrorCodes.BuildStepFailed,
                        $"step {_step} (line {instruction.Line}: {Shorten(instruction.Text)}) {how}; no template was made. The end of its output:\n{tail}");
                }
                var record = builder._directory.Registry.Find(sandbox.Id)
                    ?? throw new HutchException(ErrorCodes.SandboxDied, $"step {_step}: the build sandbox went away");
                var layer = await builder._layers.AddDirectoryAsync(builder._roots.Paths.RootUpper(sandbox.Id), LayerLimits.Default, record.HostIdBase, _lease, cancellationToken)
                    .ConfigureAwait(false);
                _run++;
                _state = _state.WithLayers([.. _state.Layers, layer.Digest], key);
                _hold.Add(key);
                builder._store.PutBuildState(key, _state.Manifest());
                return layer.Digest;
            }
            finally
            {
                await builder._sandboxes.DeleteAsync(sandbox.Id, keepWorkspace: false, CancellationToken.None).ConfigureAwait(false);
            }
        }

        private async Task<string?> CopyAsync(DockerfileInstruction instruction, CancellationToken cancellationToken)
        {
            var line = instruction.Line;
            var (flags, rest) = instruction.SplitFlags();
            foreach (var flag in flags.Keys.Where(f => f is not ("chown" or "chmod")))
            {
                throw new DockerfileException(flag == "from"
                    ? $"line {line}: {instruction.Keyword} --from (multi-stage builds) is not supported by Hutch: build one stage, copying from the context"
                    : $"line {line}: {instruction.Keyword} --{flag} is not supported by Hutch (only --chown and --chmod)", line);
            }
            var lookup = _state.Lookup;
            var json = Dockerfile.JsonArray(rest);
            var words = json is not null
                ? json.Select(w => Dockerfile.Substitute(w, lookup, plan.Escape, line)).ToList()
                : Dockerfile.Words(rest, lookup, plan.Escape, split: true, line);
            if (words.Count < 2)
            {
                throw new DockerfileException($"line {line}: {instruction.Keyword} takes one or more sources and a destination, e.g. {instruction.Keyword} app.py /app/", line);
            }
            var sources = words[..^1];
            foreach (var source in sources)
            {
                if (source.Contains("://", StringComparison.Ordinal))
                {
                    throw new DockerfileException($"line {line}: {instruction.Keyword} from a URL is not supported by Hutch: RUN curl (or wget) it in a step instead", line);
                }
                if (instruction.Keyword == "ADD" && ArchiveSuffixes.Any(s => source.EndsWith(s, StringComparison.OrdinalIgnoreCase)))
                {
                    throw new DockerfileException($"line {line}: ADD does not unpack archives in Hutch: COPY {source} and RUN tar -xf it", line);
                }
            }
            var layerDirs = builder.LayerDirs(_state.Layers);
            var destination = words[^1];
            var absolute = destination.StartsWith('/') ? destination : (_state.WorkingDir ?? "/").TrimEnd('/') + "/" + destination;
            var target = BuildState.Clean(absolute);
            var selected = sources.SelectMany(s => context.Select(s, line).Select(e => (Source: s, e.Entry, e.Relative))).ToList();
            var targetIsDirectory = destination.EndsWith('/') || sources.Count > 1 || sources.Any(s => s.AsSpan().IndexOfAny("*?") >= 0)
                || selected.Any(s => s.Entry.Type == System.Formats.Tar.TarEntryType.Directory || s.Relative.Contains('/'))
                || target is not null && CopyLayer.Lookup(layerDirs, target) is { Kind: EntryKind.Directory };
            if (target is null && !targetIsDirectory)
            {
                targetIsDirectory = true;
            }
            var files = selected.Select(s => (s.Entry, Destination: targetIsDirectory ? Join(target, s.Relative) : target!)).ToList();
            var owner = flags.TryGetValue("chown", out var chown) ? _state.Owner(Dockerfile.Substitute(chown, lookup, plan.Escape, line), layerDirs, line) : ((int, int)?)null;
            int? mode = flags.TryGetValue("chmod", out var chmod)
                ? int.TryParse(chmod, NumberStyles.None, CultureInfo.InvariantCulture, out _) && chmod.All(c => c is >= '0' and <= '7') && chmod.Length <= 4
                    ? Convert.ToInt32(chmod, 8)
                    : throw new DockerfileException($"line {line}: --chmod={chmod} is not octal permission bits (e.g. --chmod=0755)", line)
                : null;
            var parents = Parents(files.Select(f => f.Destination), targetIsDirectory ? target : null, layerDirs, owner, line);
            var spool = Path.Join(builder._roots.Paths.Templates, "builds", ".copy-" + Guid.NewGuid().ToString("N"));
            await using var tar = new FileStream(spool, new FileStreamOptions
            {
                Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, Options = FileOptions.DeleteOnClose,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
            await CopyLayer.WriteAsync(tar, context, files, parents, owner, mode, cancellationToken).ConfigureAwait(false);
            tar.Position = 0;
            var digest = "sha256:" + Convert.ToHexStringLower(await SHA256.HashDataAsync(tar, cancellationToken).ConfigureAwait(false));
            var key = _state.KeyAfter(instruction.Text + "\n" + string.Join('\0', words) + "\n" + digest);
            if (!request.NoCache && Cached(key) is { } hit)
            {
                _cached++;
                await events.WriteAsync(new BuildCachedEvent(_step), cancellationToken).ConfigureAwait(false);
                _state = _state.WithLayers(hit.Layers, key);
                return digest;
            }
            tar.Position = 0;
            var layer = await builder._layers.AddAsync(tar, LayerLimits.Default, digest, _lease, cancellationToken).ConfigureAwait(false);
            _run++;
            _state = _state.WithLayers([.. _state.Layers, layer.Digest], key);
            _hold.Add(key);
            builder._store.PutBuildState(key, _state.Manifest());
            return layer.Digest;
        }

        private static readonly string[] ArchiveSuffixes = [".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst"];

        private static string Join(string? directory, string relative) => directory is null ? relative : directory + "/" + relative;

        /// <summary>
        /// The directories on the way to what a COPY writes that the copy does not bring itself: as the
        /// layers below have them, or made 0755 (owned by --chown's owner, else root) when new.
        /// </summary>
        private static List<LayerDirectory> Parents(IEnumerable<string> destinations, string? target, IReadOnlyList<string> layerDirs, (int Uid, int Gid)? owner, int line)
        {
            var paths = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var destination in destinations.Append(target is null ? null : target + "/x").OfType<string>())
            {
                for (var slash = destination.IndexOf('/'); slash > 0; slash = destination.IndexOf('/', slash + 1))
                {
                    paths.Add(destination[..slash]);
                }
            }
            var result = new List<LayerDirectory>();
            foreach (var path in paths)
            {
                var status = CopyLayer.Lookup(layerDirs, path);
                if (status is { Kind: EntryKind.Directory } d)
                {
                    result.Add(new LayerDirectory(path, d.Permissions, (int)d.Uid, (int)d.Gid));
                }
                else if (status is { Kind: EntryKind.Symlink })
                {
                    throw new DockerfileException($"line {line}: the destination goes through /{path}, a symlink in the image: name the directory it points to", line);
                }
                else if (status is not null)
                {
                    throw new DockerfileException($"line {line}: the destination goes through /{path}, which is a file in the image", line);
                }
                else
                {
                    var (uid, gid) = owner ?? (0, 0);
                    result.Add(new LayerDirectory(path, 0x1ed, uid, gid));
                }
            }
            return result;
        }

        private static string Shorten(string text) => text.Length <= 120 ? text : text[..117] + "...";
    }

    /// <summary>The layers' directories, topmost first (what overlayfs stacks).</summary>
    private List<string> LayerDirs(IEnumerable<string> layersBottomFirst) => layersBottomFirst.Reverse().Select(_roots.Paths.Layer).ToList();

    /// <summary>The last bytes of a step's output, for its error.</summary>
    private sealed class OutputTail(int size)
    {
        private readonly Queue<byte[]> _chunks = new();
        private int _bytes;

        public void Add(byte[] chunk)
        {
            _chunks.Enqueue(chunk);
            _bytes += chunk.Length;
            while (_bytes - _chunks.Peek().Length >= size)
            {
                _bytes -= _chunks.Dequeue().Length;
            }
        }

        public override string ToString()
        {
            var all = _chunks.SelectMany(c => c).ToArray();
            return Encoding.UTF8.GetString(all.AsSpan(Math.Max(0, all.Length - size)));
        }
    }
}
