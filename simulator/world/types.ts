import type { Vec2, Vec3 } from '../../proto/index.ts';

/** One physical unit of a product. Its weight is drawn once, when it is stocked, like a real unit. */
export interface ItemUnit {
  itemId: string;
  sku: string;
  weightG: number;
}

export interface PersonAppearance {
  heightM: number;
  shoulderWidthM: number;
  topColour: string;
  bottomColour: string;
  hairColour: string;
  hairStyle: 'short' | 'long' | 'bald' | 'cap';
  skinColour: string;
  /** Carries a basket, drawn beside the body. */
  basket: boolean;
  /** An open jacket over the top: shoulders, arms and sides in this colour; null for none. */
  jacketColour: string | null;
  /** A backpack between the shoulders, the most visible thing from above; null for none. */
  backpackColour: string | null;
}

export interface Hand {
  posM: Vec3;
  /** Items in this hand, visible to the cameras. */
  holding: ItemUnit[];
  /** The plate the hand rests on or reaches into, and the force it adds there in grams. */
  onPlateId: string | null;
  pressG: number;
}

export type PersonRole = 'shopper' | 'staff';

export interface Person {
  personId: string;
  visitId: string;
  role: PersonRole;
  appearance: PersonAppearance;
  /** Centre of the torso on the floor. */
  posM: Vec2;
  headingRad: number;
  headM: Vec3;
  hands: [Hand, Hand];
  /** Items put away (basket, bag, pocket): still carried, not in a hand. */
  basket: ItemUnit[];
  /** In the simulated space (the vestibule counts), so cameras see them. */
  present: boolean;
  /** Past the entry gate and not yet out through the exit gate. */
  inStore: boolean;
}

export interface Visit {
  visitId: string;
  kind: 'shopper' | 'staff' | 'tailgater';
  /** The person whose QR code opened the visit (pays for the whole group). */
  payerId: string;
  memberIds: string[];
  qr: string | null;
  enteredMs: number | null;
  closedMs: number | null;
}

export type TruthEvent =
  | { type: 'enter'; tsMs: number; personId: string; visitId: string; gateId: string; scanId: string | null }
  | { type: 'exit'; tsMs: number; personId: string; visitId: string; gateId: string }
  | {
      type: 'tailgate';
      tsMs: number;
      personId: string;
      visitId: string;
      gateId: string;
      behindPersonId: string;
    }
  | {
      type: 'pick';
      tsMs: number;
      personId: string;
      visitId: string;
      plateId: string;
      sku: string;
      quantity: number;
      itemIds: string[];
    }
  | {
      type: 'putback';
      tsMs: number;
      personId: string;
      visitId: string;
      plateId: string;
      sku: string;
      quantity: number;
      itemIds: string[];
      /** The plate's planogram SKU differs from the item's. */
      misplaced: boolean;
    }
  | {
      type: 'handoff';
      tsMs: number;
      fromPersonId: string;
      toPersonId: string;
      fromVisitId: string;
      toVisitId: string;
      sku: string;
      itemIds: string[];
    }
  | {
      type: 'restock';
      tsMs: number;
      personId: string;
      visitId: string;
      plateId: string;
      sku: string;
      quantity: number;
      itemIds: string[];
    }
  | { type: 'visit-closed'; tsMs: number; visitId: string; cart: CartLine[] };

export interface CartLine {
  sku: string;
  quantity: number;
  /** Sum of the units' true weights, for items sold by weight. */
  weightG: number;
}
