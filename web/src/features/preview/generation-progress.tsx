"use client";

import { Progress } from "@/components/ui/progress";
import type { ActiveGeneration } from "@/features/generate/generation-reducer";

/** "about 3 s left", "about 2 min 5 s left": the worker's estimate, which is only as good as the steps so far. */
export function formatEta(seconds: number): string {
  const whole = Math.max(0, Math.ceil(seconds));
  if (whole < 1) return "almost done";
  if (whole < 60) return `about ${whole} s left`;
  const minutes = Math.floor(whole / 60);
  const rest = whole % 60;
  return `about ${minutes} min${rest ? ` ${rest} s` : ""} left`;
}

export function queueText(position: number): string {
  return `Waiting: position ${position} in queue${position === 1 ? " (next to run)" : ""}`;
}

/** Where a running request is, from the stream's events (issue 4). */
export function GenerationProgress({ live }: { live: ActiveGeneration }) {
  let status: string;
  let detail = "";
  let value: number | null = null;
  let max = 100;
  // A request for several images: which one runs, and a bar over all of their steps.
  let image = "";
  switch (live.phase) {
    case "sending":
      status = "Sending the request…";
      break;
    case "queued":
      status = queueText(live.position);
      break;
    case "running":
      if (live.steps && live.steps > 0) {
        max = live.steps;
        // Radix refuses a value above max; the worker never sends one, a future scheduler might.
        value = Math.min(Math.max(0, live.step), live.steps);
        status = `Step ${value} of ${live.steps}`;
        if (live.imageCount > 1) {
          const index = Math.min(Math.max(0, live.imageIndex), live.imageCount - 1);
          image = `Image ${index + 1} of ${live.imageCount}`;
          value += index * live.steps;
          max = live.steps * live.imageCount;
        }
      } else {
        status = "Starting…";
      }
      if (live.etaSeconds !== null && live.step > 0) detail = formatEta(live.etaSeconds);
      break;
  }
  return (
    <div data-testid="progress-panel" data-phase={live.phase} className="space-y-2">
      <div className="flex items-baseline justify-between gap-3 text-sm">
        <span className="flex gap-3">
          {image && (
            <span data-testid="progress-image" className="font-medium tabular-nums">
              {image}
            </span>
          )}
          <span data-testid="progress-status" className="font-medium tabular-nums">
            {status}
          </span>
        </span>
        {detail && (
          <span data-testid="progress-eta" className="text-muted-foreground tabular-nums">
            {detail}
          </span>
        )}
      </div>
      <Progress
        value={value}
        max={max}
        aria-label="Generation progress"
        getValueLabel={(current, total) => (image ? `${image}, ${status.toLowerCase()}` : `Step ${current} of ${total}`)}
      />
    </div>
  );
}
