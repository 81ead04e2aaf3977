import React from 'react';
import { Text } from 'ink';
import { fit, type Tone } from '../format.js';
import type { StudioAgentView } from '../source.js';
import { Tinted } from './Tinted.js';

const h = React.createElement;

const tone: Record<StudioAgentView['status'], Tone> = { active: 'good', busy: 'info', pending_validation: 'muted', inactive: 'muted', error: 'bad' };
const mark: Record<StudioAgentView['status'], string> = { active: '●', busy: '◉', pending_validation: '◌', inactive: '○', error: '✖' };

/** The studio's agents (`twl agent …`), a row each: status, name, kind, parent, and why it is in its status when it is not active. */
export function studioAgentRows(agents: StudioAgentView[]): React.ReactElement[] {
  return agents.map((a) =>
    h(
      Text,
      { key: `studio:${a.name}`, wrap: 'truncate' },
      h(Tinted, { tone: tone[a.status] }, `${mark[a.status]} ${fit(a.status === 'pending_validation' ? 'pending' : a.status, 11)}`),
      ` ${fit(a.name, 18)} ${fit(a.kind, 10)} ${a.parent ? `under ${a.parent}` : 'top'}${a.reason && a.status !== 'active' ? ` · ${a.reason}` : ''}`,
    ),
  );
}
