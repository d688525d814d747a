using Hutch.Protocol.Api;

namespace Hutch.Runtime.Templates;

/// <summary>
/// A refused layer or image with a stable <see cref="TemplateErrorCodes"/> code and a message that
/// says which entry or blob and what to do instead. Thrown by <see cref="LayerStore"/> and
/// <see cref="ImageArchive"/>; nothing of the refused layer is left on disk when it is.
/// </summary>
public sealed class TemplateException(string code, string message, Exception? inner = null) : CodedException(code, message, inner);

/// <summary>The codes a <see cref="TemplateException"/> carries (snake_case, stable: callers branch on them).</summary>
public static class TemplateErrorCodes
{
    /// <summary>400: a layer entry's name leaves the layer ("..") or is not a usable name (NUL, too long, a misnamed whiteout, a parent that is no directory).</summary>
    public const string LayerInvalidPath = "layer_invalid_path";

    /// <summary>400: an entry would be written through a symbolic link that an earlier entry of the same layer made.</summary>
    public const string LayerThroughLink = "layer_through_link";

    /// <summary>400: a hard link to something that is not a regular file earlier in the same layer (outside it, a directory, a later entry).</summary>
    public const string LayerLinkOutside = "layer_link_outside";

    /// <summary>413: a layer past <see cref="LayerLimits"/> (uncompressed bytes or entries), or an image past <see cref="ImageLimits"/>.</summary>
    public const string LayerTooLarge = ErrorCodes.LayerTooLarge;

    /// <summary>400: a layer that is not a tar stream (or a damaged gzip one), or that ends in the middle of an entry.</summary>
    public const string LayerInvalid = "layer_invalid";

    /// <summary>400: a layer in a form Hutch does not read (zstd, xz or bzip2 compression, GNU sparse or other special tar entries).</summary>
    public const string LayerUnsupported = "layer_unsupported";

    /// <summary>400: a layer blob's sha256 is not the digest its name or descriptor gives, or its uncompressed tar's is not the config's diff_id.</summary>
    public const string LayerDigestMismatch = "layer_digest_mismatch";

    /// <summary>400: an image archive that is neither a valid oci-layout nor a docker-archive tar (missing or malformed index, manifest or config, a missing blob).</summary>
    public const string ImageInvalid = "image_invalid";

    /// <summary>400: an image archive Hutch cannot use as it is (several images and none chosen, another OS, a digest algorithm other than sha256, a non-layer media type).</summary>
    public const string ImageUnsupported = "image_unsupported";

    /// <summary>413: an image archive past <see cref="ImageLimits"/> (its bytes, entries or layers).</summary>
    public const string ImageTooLarge = ErrorCodes.ImageTooLarge;
}
