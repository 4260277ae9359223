// The api's request and response bodies, named from the schema generated out of its OpenAPI document
// (`npm run api:generate`), so a field the api renames or retypes breaks the page's build, not its users.
import type { components } from "./schema";

type Schemas = components["schemas"];

/** The JSON body of POST /generateimage(/stream); an omitted field takes the worker's default for its model. */
export type GenerateRequest = Schemas["GenerateImageRequest"];
/** GET /ready's 200 body: the model, where it runs, its defaults, the queues. */
export type ReadyInfo = Schemas["ReadyResponse"];
export type ModelDefaults = Schemas["Defaults"];
/** One entry of GET /samplers: A1111's name, its aliases, and the schedule types it takes. */
export type SamplerInfo = Schemas["SamplerInfo"];
/** The closed set of error codes the api answers with. */
export type ErrorCode = Schemas["ErrorCode"];
export type ErrorResponse = Schemas["ErrorResponse"];

/** The data of each event of POST /generateimage/stream, as the api's Stream* models declare it. */
export type StreamQueued = Schemas["StreamQueued"];
export type StreamStarted = Schemas["StreamStarted"];
export type StreamProgress = Schemas["StreamProgress"];
export type StreamDone = Schemas["StreamDone"];
export type StreamImage = Schemas["StreamImage"];

/** One model of GET /models: its name (what `model` sends), A1111's title, short hash, kind, and flags. */
export type LibraryModel = Schemas["LibraryModel"];
/** One LoRA of GET /loras: its name (what `loras` and `<lora:name:weight>` name), alias, hash and path. */
export type LibraryLora = Schemas["LibraryLora"];
/** A LoRA and its weight, as a request sends it and the `done` event reports what was applied. */
export type LoraWeight = Schemas["LoraWeight"];

/** One image of the gallery (GET /images/{id}): the request's values, what the worker used, its file's URLs. */
export type GalleryImage = Schemas["GalleryImage"];
/** GET /images' answer: a page of images, newest first, and the cursor of the next page (null on the last). */
export type GalleryPage = Schemas["GalleryPage"];
