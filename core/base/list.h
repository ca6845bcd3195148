/* list.h - the one intrusive doubly linked list of the core (libuv queue.h, Linux list.h): a
 * struct cdl_list member in each element, a circular list through a sentinel head, O(1) insert and
 * remove without allocation.  A removed element links to itself, so cdl_list_linked tells whether
 * an element is in a list.  Not thread-safe; the loop thread owns every list. */
#ifndef CDL_LIST_H
#define CDL_LIST_H

#include <stddef.h>

struct cdl_list {
    struct cdl_list *next, *prev;
};

/* The element that contains the member `link` of type `type`. */
#define cdl_list_entry(link, type, member) ((type *)((char *)(link)-offsetof(type, member)))

/* Iterates over the links of head; `it` may be removed (not any other) inside the loop body. */
#define cdl_list_each(it, tmp, head)                                                                                   \
    for ((it) = (head)->next, (tmp) = (it)->next; (it) != (head); (it) = (tmp), (tmp) = (it)->next)

/* A head, or an element not in any list. */
static inline void cdl_list_init(struct cdl_list *l) { l->next = l->prev = l; }

static inline int cdl_list_empty(const struct cdl_list *head) { return head->next == head; }

/* For an element initialised with cdl_list_init: 1 while it is in a list. */
static inline int cdl_list_linked(const struct cdl_list *l) { return l->next != l; }

static inline struct cdl_list *cdl_list_first(const struct cdl_list *head)
{
    return head->next == head ? NULL : head->next;
}

static inline void cdl_list_insert_after(struct cdl_list *at, struct cdl_list *l)
{
    l->next = at->next;
    l->prev = at;
    at->next->prev = l;
    at->next = l;
}

static inline void cdl_list_push_front(struct cdl_list *head, struct cdl_list *l) { cdl_list_insert_after(head, l); }

static inline void cdl_list_push_back(struct cdl_list *head, struct cdl_list *l)
{
    cdl_list_insert_after(head->prev, l);
}

/* Takes l out of its list (a no-op if it is in none) and leaves it initialised. */
static inline void cdl_list_remove(struct cdl_list *l)
{
    l->prev->next = l->next;
    l->next->prev = l->prev;
    cdl_list_init(l);
}

#endif
