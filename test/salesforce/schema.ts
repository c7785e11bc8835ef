// The standard objects the worker touches, as much of their describe metadata as the double
// needs (field names, types, lengths, create/update permissions, picklists, references).
// Mirrors GET /services/data/vXX.X/sobjects/{obj}/describe (DescribeSObjectResult / Field).

export interface FieldDef {
  name: string;
  label: string;
  type: string; // id, string, textarea, picklist, reference, boolean, int, date, datetime, email, phone, url, combobox
  length: number;
  createable: boolean;
  updateable: boolean;
  nillable: boolean;
  custom: boolean;
  required?: boolean; // REQUIRED_FIELD_MISSING on create when absent
  defaultValue?: unknown; // applied on create when absent (defaultedOnCreate)
  picklist?: string[];
  restricted?: boolean; // restricted picklist: other values -> INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST
  referenceTo?: string[];
  maxBytes?: number; // CommentBody is limited in bytes, not characters
}

export interface ObjectDef {
  name: string;
  label: string;
  keyPrefix: string;
  custom: boolean;
  fields: FieldDef[];
}

type Opts = Partial<Omit<FieldDef, 'name' | 'type'>>;

function f(name: string, type: string, opts: Opts = {}): FieldDef {
  const system = type === 'id';
  return {
    name,
    label: opts.label ?? name.replace(/__c$/, '').replace(/Id$/, ' ID').replace(/([a-z])([A-Z])/g, '$1 $2').replace(/_/g, ' '),
    type,
    length: opts.length ?? (type === 'id' || type === 'reference' ? 18 : ['string', 'picklist', 'combobox', 'email', 'phone', 'url'].includes(type) ? 255 : 0),
    createable: opts.createable ?? !system,
    updateable: opts.updateable ?? !system,
    nillable: opts.nillable ?? (!system && type !== 'boolean' && !opts.required),
    custom: opts.custom ?? name.endsWith('__c'),
    ...(opts.required ? { required: true } : {}),
    ...(opts.defaultValue !== undefined ? { defaultValue: opts.defaultValue } : {}),
    ...(opts.picklist ? { picklist: opts.picklist, restricted: opts.restricted ?? false } : {}),
    ...(opts.referenceTo ? { referenceTo: opts.referenceTo } : {}),
    ...(opts.maxBytes ? { maxBytes: opts.maxBytes } : {}),
  };
}

const readOnly = { createable: false, updateable: false };
// Audit fields every object carries; the server maintains them.
function audit(): FieldDef[] {
  return [
    f('IsDeleted', 'boolean', readOnly),
    f('CreatedDate', 'datetime', { ...readOnly, nillable: false }),
    f('LastModifiedDate', 'datetime', { ...readOnly, nillable: false }),
    f('SystemModstamp', 'datetime', { ...readOnly, nillable: false }),
  ];
}

export function standardObjects(): ObjectDef[] {
  return [
    {
      name: 'Case', label: 'Case', keyPrefix: '500', custom: false,
      fields: [
        f('Id', 'id', { label: 'Case ID' }),
        f('CaseNumber', 'string', { ...readOnly, length: 30, nillable: false }),
        f('Subject', 'string'),
        f('Status', 'picklist', { length: 255, picklist: ['New', 'Working', 'Escalated', 'Closed'], defaultValue: 'New' }),
        f('Priority', 'picklist', { picklist: ['High', 'Medium', 'Low'], defaultValue: 'Medium' }),
        f('Origin', 'picklist', { picklist: ['Phone', 'Email', 'Web'] }),
        f('Description', 'textarea', { length: 32000 }),
        f('AccountId', 'reference', { label: 'Account ID', referenceTo: ['Account'] }),
        f('ContactId', 'reference', { label: 'Contact ID', referenceTo: ['Contact'] }),
        f('SuppliedEmail', 'email', { label: 'Web Email', length: 80 }),
        f('SuppliedPhone', 'string', { label: 'Web Phone', length: 40 }),
        f('IsClosed', 'boolean', { ...readOnly, label: 'Closed' }),
        ...audit(),
      ],
    },
    {
      name: 'Task', label: 'Task', keyPrefix: '00T', custom: false,
      fields: [
        f('Id', 'id', { label: 'Activity ID' }),
        f('WhatId', 'reference', { label: 'Related To ID', referenceTo: ['Account', 'Case'] }),
        f('WhoId', 'reference', { label: 'Name ID', referenceTo: ['Contact'] }),
        f('Subject', 'combobox', { picklist: ['Call', 'Send Letter', 'Send Quote', 'Other'] }),
        f('Description', 'textarea', { label: 'Comments', length: 32000 }),
        f('CallObject', 'string', { label: 'Call Object Identifier', length: 255 }),
        f('CallDurationInSeconds', 'int', { label: 'Call Duration' }),
        f('CallDisposition', 'string', { label: 'Call Result', length: 255 }),
        f('CallType', 'picklist', { label: 'Call Type', length: 40, picklist: ['Inbound', 'Outbound', 'Internal'], restricted: true }),
        f('Status', 'picklist', { length: 40, picklist: ['Not Started', 'In Progress', 'Completed', 'Waiting on someone else', 'Deferred'], defaultValue: 'Not Started' }),
        f('Priority', 'picklist', { length: 40, picklist: ['High', 'Normal', 'Low'], defaultValue: 'Normal' }),
        f('ActivityDate', 'date', { label: 'Due Date Only' }),
        f('TaskSubtype', 'picklist', { label: 'Task Subtype', length: 40, updateable: false, picklist: ['Task', 'Email', 'ListEmail', 'Cadence', 'Call'], restricted: true, defaultValue: 'Task' }),
        f('IsClosed', 'boolean', { ...readOnly, label: 'Closed' }),
        ...audit(),
      ],
    },
    {
      name: 'CaseComment', label: 'Case Comment', keyPrefix: '00a', custom: false,
      fields: [
        f('Id', 'id', { label: 'Case Comment ID' }),
        f('ParentId', 'reference', { label: 'Parent Case ID', referenceTo: ['Case'], updateable: false, required: true }),
        f('CommentBody', 'textarea', { label: 'Body', length: 4000, maxBytes: 4000 }),
        f('IsPublished', 'boolean', { label: 'Published', defaultValue: false }),
        ...audit(),
      ],
    },
    {
      name: 'FeedItem', label: 'Feed Item', keyPrefix: '0D5', custom: false,
      fields: [
        f('Id', 'id', { label: 'Feed Item ID' }),
        f('ParentId', 'reference', { label: 'Parent ID', referenceTo: ['Account', 'Case', 'Contact'], updateable: false, required: true }),
        f('Body', 'textarea', { length: 10000 }),
        f('Title', 'string'),
        f('LinkUrl', 'url', { label: 'Link Url', length: 1000 }),
        f('Type', 'picklist', { label: 'Feed Item Type', length: 40, updateable: false, picklist: ['TextPost', 'LinkPost', 'ContentPost'], restricted: true, defaultValue: 'TextPost' }),
        ...audit(),
      ],
    },
    {
      name: 'Account', label: 'Account', keyPrefix: '001', custom: false,
      fields: [
        f('Id', 'id', { label: 'Account ID' }),
        f('Name', 'string', { label: 'Account Name', required: true }),
        f('Phone', 'phone', { label: 'Account Phone', length: 40 }),
        ...audit(),
      ],
    },
    {
      name: 'Contact', label: 'Contact', keyPrefix: '003', custom: false,
      fields: [
        f('Id', 'id', { label: 'Contact ID' }),
        f('FirstName', 'string', { label: 'First Name', length: 40 }),
        f('LastName', 'string', { label: 'Last Name', length: 80, required: true }),
        f('Email', 'email', { length: 80 }),
        f('Phone', 'phone', { label: 'Business Phone', length: 40 }),
        f('AccountId', 'reference', { label: 'Account ID', referenceTo: ['Account'] }),
        ...audit(),
      ],
    },
  ];
}

/** A custom object created by describeOverride for a name the double does not know. */
export function customObject(name: string, keyPrefix: string): ObjectDef {
  return {
    name, label: name.replace(/__c$/, '').replace(/_/g, ' '), keyPrefix, custom: true,
    fields: [f('Id', 'id', { label: 'Record ID' }), f('Name', 'string', { length: 80 }), ...audit()],
  };
}

/** A field added through describeOverride (custom fields such as CCAI_Last_Disposition__c). */
export function customField(spec: { name: string; type?: string; updateable?: boolean; createable?: boolean; length?: number }): FieldDef {
  const type = spec.type ?? 'string';
  return f(spec.name, type, {
    ...(spec.length !== undefined ? { length: spec.length } : {}),
    ...(spec.updateable !== undefined ? { updateable: spec.updateable } : {}),
    ...(spec.createable !== undefined ? { createable: spec.createable } : {}),
  });
}

/** The JSON body of GET .../sobjects/{obj}/describe (the subset of DescribeSObjectResult we model). */
export function describeBody(obj: ObjectDef, apiVersion: string): Record<string, unknown> {
  const base = `/services/data/v${apiVersion}/sobjects/${obj.name}`;
  return {
    name: obj.name,
    label: obj.label,
    labelPlural: obj.label + 's',
    keyPrefix: obj.keyPrefix,
    custom: obj.custom,
    createable: true,
    updateable: true,
    deletable: true,
    queryable: true,
    retrieveable: true,
    searchable: true,
    urls: { sobject: base, describe: `${base}/describe`, rowTemplate: `${base}/{ID}` },
    fields: obj.fields.map((fd) => ({
      name: fd.name,
      label: fd.label,
      type: fd.type,
      length: fd.length,
      byteLength: fd.maxBytes ?? fd.length * 3,
      digits: fd.type === 'int' ? 9 : 0,
      precision: 0,
      scale: 0,
      createable: fd.createable,
      updateable: fd.updateable,
      nillable: fd.nillable,
      custom: fd.custom,
      defaultedOnCreate: fd.defaultValue !== undefined || !fd.createable,
      filterable: fd.type !== 'textarea',
      idLookup: fd.type === 'id',
      externalId: false,
      unique: false,
      restrictedPicklist: fd.restricted ?? false,
      picklistValues: (fd.picklist ?? []).map((value) => ({
        active: true, defaultValue: value === fd.defaultValue, label: value, validFor: null, value,
      })),
      referenceTo: fd.referenceTo ?? [],
      relationshipName: fd.type === 'reference' ? fd.name.replace(/Id$/, '') : null,
      soapType: soapType(fd.type),
    })),
  };
}

function soapType(type: string): string {
  switch (type) {
    case 'id': case 'reference': return 'tns:ID';
    case 'boolean': return 'xsd:boolean';
    case 'int': return 'xsd:int';
    case 'date': return 'xsd:date';
    case 'datetime': return 'xsd:dateTime';
    default: return 'xsd:string';
  }
}
