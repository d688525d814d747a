using Hutch.Protocol.Api;

namespace Hutch.Tests.Infrastructure;

/// <summary>What the API would answer for an engine or library failure: the status its code maps to at the edge.</summary>
public static class CodedExceptionStatus
{
    extension(CodedException e)
    {
        public int Status => ErrorStatus.Of(e.Code);
    }
}
