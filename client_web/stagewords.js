// What the pages say about the stage in words: where a speaker stands (backstage or on
// stage), what a source sends, the technician's button for it, and who is heard but not seen.
// Pure: no DOM.

import { HALL_ROLE } from './stage.js';
import { RoomState } from './roomstate.js';

export const StageAction = Object.freeze({
  STAGE: 'stage',
  BACKSTAGE: 'backstage',
});

const ROLE_WORDS = Object.freeze({
  [HALL_ROLE]: 'Hall',
  speaker: 'Remote speaker',
  moderator: 'Moderator',
  interpreter: 'Interpreter',
  organizer: 'Organizer',
});

/**
 * Where the speaker's own source `own` stands, once on air in a room in `roomState`:
 * {text, place} with place "stage", "backstage" or "joining" (connected, not yet listed).
 */
export function speakerPlace(own, roomState) {
  if (own === null) return { text: 'Connected — joining the backstage…', place: 'joining' };
  if (!own.onStage) return { text: 'Backstage — a technician or moderator will bring you on stage', place: 'backstage' };
  return roomState === RoomState.LIVE
    ? { text: 'On stage — you are live', place: 'stage' }
    : { text: 'On stage — the public joins when the item starts', place: 'stage' };
}

/** "Hall", "Remote speaker", …: who a source is, by its role. */
export function roleWords(role) {
  return ROLE_WORDS[role] ?? (role === '' ? 'Source' : role.charAt(0).toUpperCase() + role.slice(1));
}

/** "sound and picture", "sound only", "picture only", "nothing yet". */
export function kindsWords(kinds) {
  const sound = kinds.includes('audio');
  const picture = kinds.includes('video');
  if (sound && picture) return 'sound and picture';
  if (sound) return 'sound only';
  return picture ? 'picture only' : 'nothing yet';
}

/** "On stage" or "Backstage". */
export function placeWords(source) {
  return source.onStage ? 'On stage' : 'Backstage';
}

/** The one move the technician page offers for `source`: {action, label}. */
export function stageMove(source) {
  return source.onStage
    ? { action: StageAction.BACKSTAGE, label: 'Send backstage' }
    : { action: StageAction.STAGE, label: 'Bring on stage' };
}

/** What the technician page says once a move went through. */
export function movedWords(name, action) {
  const who = name === '' ? 'The source' : name;
  return action === StageAction.STAGE ? `${who} is on stage.` : `${who} is backstage.`;
}

/** What a stage view says when no picture is on stage: {big, small}. */
export function emptyStageWords(arrangement, nobodyText) {
  if (arrangement.onStage > 0) {
    return { big: 'Sound only from the stage', small: 'Nobody on stage is on camera just now.' };
  }
  return { big: nobodyText, small: '' };
}

/** The words before the names of who is heard but not seen. */
export function heardLabel(arrangement, { soundOnly = false } = {}) {
  if (soundOnly) return 'On stage';
  return arrangement.tiles.length === 0 ? 'On stage, sound only' : 'Also on stage, sound only';
}
