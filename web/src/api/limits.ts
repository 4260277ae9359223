// The request's limits as the api publishes them in its OpenAPI schema (web/openapi.json, generated from the
// pydantic model): the page's inputs, sliders and hints use these, so no limit is written down twice (principle 2).
import openapi from "../../openapi.json";

/** The parts of a JSON Schema property that carry limits; a nullable one keeps them in an `anyOf` branch. */
interface PropertySchema {
  type?: string | string[];
  minimum?: number;
  maximum?: number;
  multipleOf?: number;
  maxLength?: number;
  default?: unknown;
  anyOf?: PropertySchema[];
}

const properties: Record<string, PropertySchema> = openapi.components.schemas.GenerateImageRequest.properties;

/** The non-null branch of a property, with its limits. */
function valueSchema(field: string): PropertySchema {
  const schema = properties[field];
  if (!schema) throw new Error(`openapi.json: GenerateImageRequest has no property ${field}; run npm run api:generate`);
  const branch = schema.anyOf?.find((s) => s.type !== "null") ?? {};
  return { ...branch, ...schema, anyOf: undefined };
}

function required(field: string, key: "minimum" | "maximum" | "maxLength"): number {
  const value = valueSchema(field)[key];
  if (typeof value !== "number") throw new Error(`openapi.json: ${field} has no ${key}; run npm run api:generate`);
  return value;
}

export interface NumberLimit {
  min: number;
  max: number;
  /** The step the api insists on (multipleOf), 1 for an integer, undefined for any number. */
  step: number | undefined;
  integer: boolean;
}

function numberLimit(field: string): NumberLimit {
  const schema = valueSchema(field);
  const integer = schema.type === "integer";
  return {
    min: required(field, "minimum"),
    max: required(field, "maximum"),
    step: schema.multipleOf ?? (integer ? 1 : undefined),
    integer,
  };
}

function textLimit(field: string): { maxLength: number; default: string } {
  const fallback = valueSchema(field).default;
  return { maxLength: required(field, "maxLength"), default: typeof fallback === "string" ? fallback : "" };
}

export const LIMITS = {
  positivePrompt: textLimit("positivePrompt"),
  negativePrompt: textLimit("negativePrompt"),
  width: numberLimit("width"),
  height: numberLimit("height"),
  steps: numberLimit("steps"),
  guidanceScale: numberLimit("guidanceScale"),
  seed: numberLimit("seed"),
  /** Images per request; GET /ready's maxCount may allow fewer on the workers that serve. */
  count: numberLimit("count"),
} as const;
