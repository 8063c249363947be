/** `--component vision|language|projector|audio|other` (repeatable, or comma-separated), shared by analyze, diff, lora and compare. */
import { invalidArgument } from '../../errors';
import { type Component, COMPONENTS } from '../../plan/modules';

export const componentFlagHelp = `  --component <c>       only the matrices of a component: ${COMPONENTS.join(', ')}
                        (repeatable or comma-separated; layers are counted per component)`;

export const componentFlagOption = { component: { type: 'string', multiple: true } } as const;

/** The components --component names (undefined when not given); INVALID_ARGUMENT for an unknown one. */
export function componentFrom(values: Record<string, unknown>): { component?: Component[] } {
  const raw = values.component as string[] | undefined;
  if (!raw?.length) return {};
  const list = raw.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  for (const c of list) if (!(COMPONENTS as readonly string[]).includes(c)) invalidArgument('--component', COMPONENTS.join(', '), c);
  return { component: list as Component[] };
}
