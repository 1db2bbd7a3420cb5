import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { publishArtifact } from "@tailor/model-server";
import { ModelService } from "@tailor/proto";

/** `tailor models publish|load|unload|list`: the artifact store and the model-server's admin calls. */
export async function modelsCommand(
  args: {
    sub: string;
    positionals: string[];
    name?: string;
    version?: string;
    root: string;
    base?: string;
  },
  modelServerUrl: string,
): Promise<string> {
  const client = () => createClient(ModelService, createGrpcTransport({ baseUrl: modelServerUrl }));
  switch (args.sub) {
    case "publish": {
      const dir = args.positionals[0];
      if (!dir || !args.name || !args.version)
        throw new Error("usage: tailor models publish DIR --name N --version V [--root DIR]");
      const m = await publishArtifact(dir, args.name, args.version, { root: args.root });
      return `published ${m.name}@${m.version} (${m.kind}, ${Object.keys(m.files).length} files) to ${args.root}`;
    }
    case "load": {
      if (!args.name)
        throw new Error("usage: tailor models load --name N [--version V] [--base B]");
      const r = await client().loadModel({
        name: args.name,
        version: args.version ?? "",
        base: args.base ?? "",
      });
      return `loaded ${r.model?.name}@${r.model?.version} (${r.model?.kind} on ${r.model?.executionProvider})`;
    }
    case "unload": {
      if (!args.name) throw new Error("usage: tailor models unload --name N [--version V]");
      await client().unloadModel({ name: args.name, version: args.version ?? "" });
      return `unloaded ${args.name}${args.version ? `@${args.version}` : ""}`;
    }
    case "list": {
      const r = await client().listModels({});
      return r.models
        .map(
          (m) =>
            `${m.name}@${m.version}  ${m.kind}  ${m.executionProvider}  dims=${m.dimensions}  mem=${(Number(m.memoryBytes) / 2 ** 20).toFixed(0)}MiB  queue=${m.queueDepth}`,
        )
        .join("\n");
    }
    default:
      throw new Error(
        `unknown models command ${JSON.stringify(args.sub)}: publish, load, unload or list`,
      );
  }
}
