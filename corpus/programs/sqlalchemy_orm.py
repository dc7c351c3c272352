"""An ORM session over sqlite: SQLAlchemy models with a relationship, 400 authors with 3 books
each inserted, queried with a join, updated and deleted, in an in-memory database."""
from sqlalchemy import ForeignKey, String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "author"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    books: Mapped[list["Book"]] = relationship(back_populates="author", cascade="all, delete-orphan")


class Book(Base):
    __tablename__ = "book"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(80))
    author_id: Mapped[int] = mapped_column(ForeignKey("author.id"))
    author: Mapped[Author] = relationship(back_populates="books")


engine = create_engine("sqlite://")
Base.metadata.create_all(engine)

# Start-up is over: a recording under `gclab record` marks this point (gc.freeze() after
# start-up is replayed here); without the recorder nothing is there and nothing happens.
_marker = __import__("sys").modules.get("gclab_marker")
if _marker is not None:
    _marker.startup()
with Session(engine) as s:
    for i in range(400):
        a = Author(name="author %d" % i)
        a.books = [Book(title="book %d.%d" % (i, j)) for j in range(3)]
        s.add(a)
    s.commit()
with Session(engine) as s:
    n = 0
    for author, book in s.execute(select(Author, Book).join(Book.author)).all():
        n += len(book.title)
    for a in s.scalars(select(Author).where(Author.id % 3 == 0)):
        a.name = a.name.upper()
    s.commit()
    for a in s.scalars(select(Author).where(Author.id % 5 == 0)):
        s.delete(a)
    s.commit()
    left = s.scalar(select(Book.id).order_by(Book.id.desc()).limit(1))
print("sqlalchemy_orm", n, left)
