// What nearly every file of the daemon speaks: the API's types and the shared command and sandbox plumbing.
global using Hutch.Daemon.Commands;
global using Hutch.Daemon.Sandboxes;
global using Hutch.Protocol.Api;
