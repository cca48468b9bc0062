/**
 * Section tabs are real links (each tab is its own URL), so they work with the keyboard, middle-click and
 * the back button. TanStack Router marks the active link with data-status="active" and aria-current="page".
 * On a phone the row scrolls sideways rather than wrapping.
 */
import type { ReactNode } from "react";

export const tabLinkClass =
  "relative shrink-0 rounded-md px-3 py-2 text-sm font-medium whitespace-nowrap text-zinc-600 hover:bg-zinc-100 hover:text-zinc-900 " +
  "data-[status=active]:text-zinc-900 data-[status=active]:after:absolute data-[status=active]:after:inset-x-3 " +
  "data-[status=active]:after:-bottom-[5px] data-[status=active]:after:h-0.5 data-[status=active]:after:rounded-full " +
  "data-[status=active]:after:bg-accent-600";

export function TabNav({ label, children }: { label: string; children: ReactNode }) {
  return (
    <nav aria-label={label} className="-mx-4 border-b border-zinc-200 px-4 sm:mx-0 sm:px-0">
      {/* The padding holds the active tab's underline (5 px below the link) inside the scroller: any less and
          the row overflows vertically by a pixel, which classic-scrollbar browsers draw as a scrollbar. */}
      <div className="-mb-px flex gap-1 overflow-x-auto overflow-y-hidden pb-[5px]" data-testid="tab-row">
        {children}
      </div>
    </nav>
  );
}
