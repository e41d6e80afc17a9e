import { z } from "zod";
import type { RouteContract, TokenSecret } from "./route";

type JsonSchema = z.core.JSONSchema.JSONSchema;

interface MediaType {
  readonly schema: { readonly $ref: string };
}

export interface OpenApiOperation {
  readonly operationId: string;
  readonly tags: readonly string[];
  readonly summary: string;
  readonly description?: string;
  readonly security?: readonly Readonly<Record<string, readonly string[]>>[];
  readonly parameters?: readonly { readonly name: string; readonly in: "path"; readonly required: true; readonly schema: JsonSchema; readonly description?: string }[];
  readonly requestBody?: { readonly description: string; readonly required: true; readonly content: { readonly "application/json": MediaType } };
  readonly responses: Readonly<Record<string, { readonly description: string; readonly content: { readonly "application/json": MediaType } }>>;
}

export interface OpenApiDocument {
  readonly openapi: "3.1.0";
  readonly info: { readonly title: string; readonly version: string; readonly description: string };
  readonly tags: readonly { readonly name: string; readonly description: string }[];
  readonly paths: Readonly<Record<string, Readonly<Partial<Record<RouteContract["method"], OpenApiOperation>>>>>;
  readonly components: {
    readonly schemas: Readonly<Record<string, JsonSchema>>;
    readonly securitySchemes: Readonly<Partial<Record<TokenSecret, { readonly type: "http"; readonly scheme: "bearer"; readonly description: string }>>>;
  };
}

const TOKEN_DESCRIPTIONS: Readonly<Record<TokenSecret, string>> = {
  FEED_TOKEN: "App backends' token for the feed routes; needed only once the deployment sets the FEED_TOKEN secret.",
  INGEST_TOKEN: "The event producers' token (INGEST_TOKEN secret).",
  ADMIN_TOKEN: "Operators' token (ADMIN_TOKEN secret): the serving config, sourcing queries and the inspector.",
};

const schemaRef = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/**
 * Named schemas of one direction. Requests are described as clients may send them (defaults make fields optional,
 * ids may be numbers) and responses as the Worker writes them, so each direction is converted on its own.
 */
class ComponentSchemas {
  private readonly byName = new Map<string, z.ZodType>();

  constructor(private readonly io: "input" | "output") {}

  ref(name: string, schema: z.ZodType): { $ref: string } {
    const known = this.byName.get(name);
    if (known !== undefined && known !== schema) throw new Error(`two schemas are named ${name}`);
    const other = [...this.byName].find(([otherName, otherSchema]) => otherSchema === schema && otherName !== name);
    if (other) throw new Error(`one schema is named both ${other[0]} and ${name}`);
    this.byName.set(name, schema);
    return schemaRef(name);
  }

  names(): ReadonlySet<string> {
    return new Set(this.byName.keys());
  }

  toJsonSchemas(): Record<string, JsonSchema> {
    const registry = z.registry<{ id: string }>();
    for (const [name, schema] of this.byName) registry.add(schema, { id: name });
    const { schemas } = z.toJSONSchema(registry, { target: "draft-2020-12", io: this.io, unrepresentable: "throw", uri: (id) => schemaRef(id).$ref });
    // components are not documents of their own: the OpenAPI document's dialect applies, and refs resolve against it
    return Object.fromEntries(Object.entries(schemas).map(([name, { $schema: _dialect, $id: _id, ...schema }]) => [name, schema]));
  }
}

/** A path parameter, its schema inline (it is never shared) and its description lifted to where OpenAPI shows it. */
function pathParameter(name: string, schema: z.ZodType): NonNullable<OpenApiOperation["parameters"]>[number] {
  const { $schema: _dialect, description, ...json } = z.toJSONSchema(schema, { target: "draft-2020-12", io: "input", unrepresentable: "throw" });
  return { name, in: "path", required: true, schema: json, ...(typeof description === "string" ? { description } : {}) };
}

/** The OpenAPI 3.1 document of the routes, every schema in it converted from the zod schemas the routes use. */
export function openApiDocument(routes: readonly RouteContract[], info: OpenApiDocument["info"], tags: OpenApiDocument["tags"]): OpenApiDocument {
  const requests = new ComponentSchemas("input");
  const responses = new ComponentSchemas("output");
  const paths: Record<string, Partial<Record<RouteContract["method"], OpenApiOperation>>> = {};
  const tokens = new Set<TokenSecret>();
  for (const route of routes) {
    const operations = (paths[route.path] ??= {});
    if (operations[route.method]) throw new Error(`${route.method.toUpperCase()} ${route.path} is described twice`);
    if (route.auth) tokens.add(route.auth.token);
    operations[route.method] = {
      operationId: route.operationId,
      tags: [route.tag],
      summary: route.summary,
      ...(route.description === undefined ? {} : { description: route.description }),
      // an empty requirement makes the token optional
      ...(route.auth ? { security: route.auth.optional ? [{ [route.auth.token]: [] }, {}] : [{ [route.auth.token]: [] }] } : {}),
      ...(route.params ? { parameters: Object.entries(route.params).map(([name, schema]) => pathParameter(name, schema)) } : {}),
      ...(route.body
        ? { requestBody: { description: `Read as JSON whatever the Content-Type; at most ${route.body.maxBytes} bytes (a longer body is a 413).`, required: true, content: { "application/json": { schema: requests.ref(route.body.name, route.body.schema) } } } }
        : {}),
      responses: Object.fromEntries(
        Object.entries(route.responses).map(([status, response]) => [status, { description: response.description, content: { "application/json": { schema: responses.ref(response.name, response.schema) } } }]),
      ),
    };
  }
  const clash = [...requests.names()].find((name) => responses.names().has(name));
  if (clash !== undefined) throw new Error(`${clash} names both a request and a response`);
  return {
    openapi: "3.1.0",
    info,
    tags,
    paths,
    components: {
      schemas: { ...requests.toJsonSchemas(), ...responses.toJsonSchemas() },
      securitySchemes: Object.fromEntries([...tokens].sort().map((token) => [token, { type: "http", scheme: "bearer", description: TOKEN_DESCRIPTIONS[token] }])),
    },
  };
}
