// The request's limits as the api publishes them in its OpenAPI schema (web/openapi.json, generated from the
// pydantic model): the page's inputs, sliders and hints use these, so no limit is written down twice (principle 2).
import openapi from "../../openapi.json";

/** The parts of a JSON Schema property that carry limits; a nullable one keeps them in an `anyOf` branch. */
interface PropertySchema {
  type?: string | string[];
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
  multipleOf?: number;
  maxLength?: number;
  maxItems?: number;
  default?: unknown;
  description?: string;
  anyOf?: PropertySchema[];
}

// The schemas whose properties the page reads limits from.
const { GenerateImageRequest, LoraWeight } = openapi.components.schemas;
const schemas: Record<string, Record<string, PropertySchema>> = {
  GenerateImageRequest: GenerateImageRequest.properties,
  LoraWeight: LoraWeight.properties,
};

/** The non-null branch of a property (GenerateImageRequest's unless `schemaName` names another schema), with its limits. */
function valueSchema(field: string, schemaName = "GenerateImageRequest"): PropertySchema {
  const schema = schemas[schemaName]?.[field];
  if (!schema) throw new Error(`openapi.json: ${schemaName} has no property ${field}; run npm run api:generate`);
  const branch = schema.anyOf?.find((s) => s.type !== "null") ?? {};
  return { ...branch, ...schema, anyOf: undefined };
}

function required(field: string, key: "minimum" | "maximum" | "maxLength" | "maxItems", schemaName?: string): number {
  const value = valueSchema(field, schemaName)[key];
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

function numberLimit(field: string, schemaName?: string): NumberLimit {
  const schema = valueSchema(field, schemaName);
  const integer = schema.type === "integer";
  return {
    min: required(field, "minimum", schemaName),
    max: required(field, "maximum", schemaName),
    step: schema.multipleOf ?? (integer ? 1 : undefined),
    integer,
  };
}

function textLimit(field: string): { maxLength: number; default: string } {
  const fallback = valueSchema(field).default;
  return { maxLength: required(field, "maxLength"), default: typeof fallback === "string" ? fallback : "" };
}

function defaultNumber(field: string, schemaName?: string): number {
  const value = valueSchema(field, schemaName).default;
  if (typeof value !== "number") throw new Error(`openapi.json: ${field} has no default; run npm run api:generate`);
  return value;
}

/** A number above an exclusive minimum (0 < x ≤ max): `min` is the least value a step of `step` reaches. */
function openNumberLimit(field: string, step: number): NumberLimit & { exclusiveMin: number; default: number } {
  const schema = valueSchema(field);
  if (typeof schema.exclusiveMinimum !== "number") throw new Error(`openapi.json: ${field} has no exclusiveMinimum`);
  return {
    min: schema.exclusiveMinimum + step,
    exclusiveMin: schema.exclusiveMinimum,
    max: required(field, "maximum"),
    step,
    integer: false,
    default: defaultNumber(field),
  };
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
  /** How many LoRAs one request may name in `loras` (its prompt tags aside). */
  loras: { maxItems: required("loras", "maxItems") },
  /** One LoRA's weight; unset is `default` (1). */
  /** Image to image: how much of the init image is denoised again (0 < s ≤ 1), in slider steps of 0.01. */
  denoisingStrength: openNumberLimit("denoisingStrength", 0.01),
  /** Inpainting: the mask's feathering in pixels. */
  maskBlur: { ...numberLimit("maskBlur"), default: defaultNumber("maskBlur") },
  loraWeight: { ...numberLimit("weight", "LoraWeight"), default: defaultNumber("weight", "LoraWeight") },
} as const;
