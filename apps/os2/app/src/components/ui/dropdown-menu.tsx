/** Menus on Radix: arrow keys move, Escape closes, typeahead works. */
import * as Menu from "@radix-ui/react-dropdown-menu";
import { clsx } from "clsx";
import type { ComponentPropsWithoutRef, ReactNode } from "react";

export const DropdownMenu = Menu.Root;
export const DropdownMenuTrigger = Menu.Trigger;

export function DropdownMenuContent({ children, align = "end" }: { children: ReactNode; align?: "start" | "end" }) {
  return (
    <Menu.Portal>
      <Menu.Content
        align={align}
        sideOffset={6}
        className="z-50 min-w-56 rounded-lg border border-zinc-200 bg-white p-1 text-sm shadow-lg focus:outline-none"
      >
        {children}
      </Menu.Content>
    </Menu.Portal>
  );
}

export function DropdownMenuItem({ className, ...props }: ComponentPropsWithoutRef<typeof Menu.Item>) {
  return (
    <Menu.Item
      className={clsx(
        "flex cursor-pointer items-center gap-2 rounded-md px-2.5 py-1.5 text-zinc-800 outline-none select-none",
        "data-[highlighted]:bg-zinc-100 data-[disabled]:cursor-default data-[disabled]:text-zinc-400",
        className,
      )}
      {...props}
    />
  );
}

export function DropdownMenuLabel({ children }: { children: ReactNode }) {
  return <Menu.Label className="px-2.5 pt-1.5 pb-1 text-xs font-medium text-zinc-500">{children}</Menu.Label>;
}

export function DropdownMenuSeparator() {
  return <Menu.Separator className="my-1 h-px bg-zinc-200" />;
}
