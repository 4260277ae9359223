"use client";

import { Badge } from "@/components/ui/badge";
import type { LibraryLora } from "@/api/types";
import { parseLoraTags } from "./lora-tags";
import { isKnownLora } from "./use-loras";

/**
 * The `<lora:name:weight>` tags of the prompt as chips, each with the weight it applies; one GET /loras does not
 * list is marked unknown (the worker will refuse it). Nothing while the prompt has none.
 */
export function PromptLoraChips({ prompt, loras }: { prompt: string; loras: readonly LibraryLora[] | undefined }) {
  const tags = parseLoraTags(prompt);
  if (tags.length === 0) return null;
  return (
    <div className="flex flex-wrap items-center gap-1.5 text-xs text-muted-foreground" data-testid="prompt-loras">
      <span id="prompt-loras-label">LoRAs in the prompt:</span>
      <ul className="contents" aria-labelledby="prompt-loras-label">
        {tags.map((tag) => {
          const unknown = isKnownLora(loras, tag.name) === false;
          return (
            <li key={tag.index}>
              <Badge
                variant={unknown ? "destructive" : "secondary"}
                data-testid="prompt-lora"
                data-name={tag.name}
                data-weight={tag.weight}
                data-unknown={unknown ? "true" : undefined}
                title={unknown ? `${tag.text}: not in GET /loras (models/loras/); the worker will refuse it` : tag.text}
              >
                <span className="break-all">{tag.name}</span>
                <span className="font-mono font-normal">× {tag.weight}</span>
                {unknown && <span>· unknown</span>}
              </Badge>
            </li>
          );
        })}
      </ul>
    </div>
  );
}
