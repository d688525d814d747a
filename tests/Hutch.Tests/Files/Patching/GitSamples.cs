namespace Hutch.Tests.Files.Patching;

/// <summary>Diffs exactly as git and diff(1) wrote them (git 2.39, GNU diffutils), pasted from a scratch repository.</summary>
internal static class GitSamples
{
    private const string CR = "\r";
    private const string TAB = "\t";

    /// <summary>
    /// `git diff --cached -M` of: a new file without a final newline, a quoted UTF-8 name, a CRLF
    /// file, a deletion, a two-hunk change, a pure rename, a newline added at the end of a file, a
    /// rename with a hunk, a mode change and a name with a space.
    /// </summary>
    public const string Many = $$"""
        diff --git a/added.txt b/added.txt
        new file mode 100644
        index 0000000..551d4ca
        --- /dev/null
        +++ b/added.txt
        @@ -0,0 +1,2 @@
        +brand
        +new
        \ No newline at end of file
        diff --git "a/caf\303\251.txt" "b/caf\303\251.txt"
        index a9074c7..572eb43 100644
        --- "a/caf\303\251.txt"
        +++ "b/caf\303\251.txt"
        @@ -1 +1 @@
        -caf
        +café
        diff --git a/crlf.txt b/crlf.txt
        index b5eff57..d5a6cc6 100644
        --- a/crlf.txt
        +++ b/crlf.txt
        @@ -1,3 +1,3 @@
         a{{CR}}
        -b{{CR}}
        +B{{CR}}
         c{{CR}}
        diff --git a/del.txt b/del.txt
        deleted file mode 100644
        index b8962c3..0000000
        --- a/del.txt
        +++ /dev/null
        @@ -1,2 +0,0 @@
        -gone
        -away
        diff --git a/mod.txt b/mod.txt
        index c9e9e05..0d1c98f 100644
        --- a/mod.txt
        +++ b/mod.txt
        @@ -1,5 +1,5 @@
         one
        -two
        +TWO
         three
         four
         five
        @@ -7,4 +7,5 @@ six
         seven
         eight
         nine
        -ten
        +TEN
        +eleven
        diff --git a/old_name.txt b/new_name.txt
        similarity index 100%
        rename from old_name.txt
        rename to new_name.txt
        diff --git a/nonl.txt b/nonl.txt
        index c54071e..adde431 100644
        --- a/nonl.txt
        +++ b/nonl.txt
        @@ -1,2 +1,2 @@
         keep
        -last
        \ No newline at end of file
        +last
        diff --git a/ren2.txt b/ren3.txt
        similarity index 85%
        rename from ren2.txt
        rename to ren3.txt
        index 0d8540f..83039a0 100644
        --- a/ren2.txt
        +++ b/ren3.txt
        @@ -1,7 +1,7 @@
         r1
         r2
         r3
        -r4
        +R4
         r5
         r6
         r7
        diff --git a/run.sh b/run.sh
        old mode 100644
        new mode 100755
        diff --git a/with space.txt b/with space.txt
        index b77b4eb..7061c57 100644
        --- a/with space.txt{{TAB}}
        +++ b/with space.txt{{TAB}}
        @@ -1,2 +1,2 @@
         x
        -y
        +Y

        """;

    /// <summary>`diff -u old.txt new.txt`: no a/ b/ prefixes, timestamps after a tab, two different names.</summary>
    public const string PlainTwoNames = $$"""
        --- old.txt{{TAB}}2026-11-23 08:07:51.589637780 +0000
        +++ new.txt{{TAB}}2026-11-23 08:07:51.589637780 +0000
        @@ -1,3 +1,4 @@
         a
        -b
        +B
         c
        +d

        """;

    /// <summary>`diff -ruN x y`: a "diff" line before each file, and a new file dated at the epoch.</summary>
    public const string PlainRecursiveWithNewFile = $$"""
        diff -ruN x/f y/f
        --- x/f{{TAB}}2026-11-23 08:07:51.591566498 +0000
        +++ y/f{{TAB}}2026-11-23 08:07:51.591566498 +0000
        @@ -1,2 +1,2 @@
         1
        -2
        +3
        diff -ruN x/g y/g
        --- x/g{{TAB}}1969-12-31 19:00:00.000000000 -0500
        +++ y/g{{TAB}}2026-11-23 08:07:51.591566498 +0000
        @@ -0,0 +1 @@
        +n

        """;
}
